// One Apache Curator LeaderLatch candidate in its own JVM, for bench/failover.ts.
//   java -cp <curator + zookeeper jars>:<dir> CuratorCandidate <connect> <latchPath> <sessionTimeoutMs> <id>
// Prints JSON lines {"event":..., "t":"<System.nanoTime()>", ...} on stdout. On Linux HotSpot,
// System.nanoTime() reads clock_gettime(CLOCK_MONOTONIC) — the clock of node's process.hrtime.bigint()
// and Python's time.monotonic_ns() — so timestamps compare across processes (the bench checks it
// with the "ping" command: the reply's t must fall between the bench's send and receive times).
// stdin commands: "leave" (close the latch, notifying, then the client, then exit), "ping".
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.retry.ExponentialBackoffRetry;

public final class CuratorCandidate {
  private static synchronized void emit(String event, String extra) {
    System.out.println("{\"event\":\"" + event + "\",\"t\":\"" + System.nanoTime() + "\"" + extra + "}");
    System.out.flush();
  }

  public static void main(String[] args) throws Exception {
    final String connect = args[0];
    final String path = args[1];
    final int sessionTimeoutMs = Integer.parseInt(args[2]);
    final String id = args[3];

    // Connection timeout = session timeout: Curator warns when it is longer, and the operations a
    // latch runs after a reconnect should not wait longer than a session lives. Retries every
    // 100 ms .. 1 s, forever in practice, like a service that must come back by itself.
    final CuratorFramework client = CuratorFrameworkFactory.builder()
        .connectString(connect)
        .sessionTimeoutMs(sessionTimeoutMs)
        .connectionTimeoutMs(sessionTimeoutMs)
        .retryPolicy(new ExponentialBackoffRetry(100, 29, 1000))
        .build();
    client.getConnectionStateListenable().addListener((c, state) -> emit("state", ",\"state\":\"" + state + "\""));
    client.start();

    // NOTIFY_LEADER: close() calls notLeader(), so a clean handover prints "demoted" too.
    final LeaderLatch latch = new LeaderLatch(client, path, id, LeaderLatch.CloseMode.NOTIFY_LEADER);
    latch.addListener(new LeaderLatchListener() {
      @Override public void isLeader() { emit("elected", ",\"id\":\"" + id + "\""); }
      @Override public void notLeader() { emit("demoted", ",\"id\":\"" + id + "\""); }
    });
    latch.start();

    Thread ready = new Thread(() -> {
      try {
        while (latch.getOurPath() == null) Thread.sleep(10);
        emit("ready", ",\"path\":\"" + latch.getOurPath() + "\"");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    ready.setDaemon(true);
    ready.start();

    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.contains("leave")) {
        latch.close();
        client.close();
        emit("left", "");
        System.exit(0);
      } else if (line.contains("ping")) {
        emit("pong", "");
      }
    }
    // stdin closed: the bench is gone; so are we.
    System.exit(0);
  }
}
