import * as fs from 'node:fs';
import * as path from 'node:path';
import { HarnessError } from './errors';

/** Where the JVM and the ZooKeeper jars are, and how logging is wired for this install. */
export interface ZooKeeperInstall {
  readonly java: string;
  readonly classpath: string;
  /** 'slf4j-simple' (Debian) logs via system properties; 'logback' (official tarball) via a logback.xml. */
  readonly logging: 'slf4j-simple' | 'logback' | 'none';
  readonly source: string;
}

const DEBIAN_JAVA_DIR = '/usr/share/java';
// zookeeper.jar's manifest Class-Path names most of its dependencies; listing the core ones
// explicitly keeps the server working if that manifest changes, and adds the logging binding.
const DEBIAN_JARS = [
  'zookeeper.jar',
  'zookeeper-jute.jar',
  'slf4j-api.jar',
  'slf4j-simple.jar',
  'netty-buffer.jar',
  'netty-codec.jar',
  'netty-common.jar',
  'netty-handler.jar',
  'netty-resolver.jar',
  'netty-transport.jar',
  'netty-transport-native-epoll.jar',
  'netty-transport-native-unix-common.jar',
  'metrics-core.jar',
  'snappy-java.jar',
  'commons-cli.jar',
  'commons-io.jar',
  'audience-annotations.jar',
];

const HOW_TO_INSTALL =
  'install it with `apt-get install zookeeper libslf4j-java` or run `npm run setup` (which does it), ' +
  'or set ZK_HOME to a ZooKeeper 3.8 install, or ZK_CONNECT to a running ensemble';

export function findZooKeeper(env: NodeJS.ProcessEnv = process.env): ZooKeeperInstall {
  const java = findJava(env);
  const zkHome = env.ZK_HOME;
  if (zkHome !== undefined && zkHome !== '') {
    const jars = [...jarsIn(path.join(zkHome, 'lib')), ...jarsIn(zkHome)];
    if (!jars.some((j) => /zookeeper-[\d.]+.*\.jar$/.test(path.basename(j)) || path.basename(j) === 'zookeeper.jar')) {
      throw new HarnessError('ZK_NOT_FOUND', `ZK_HOME=${zkHome} holds no zookeeper jar; ${HOW_TO_INSTALL}`);
    }
    const names = jars.map((j) => path.basename(j));
    const logging = names.some((n) => n.startsWith('logback-classic'))
      ? 'logback'
      : names.some((n) => n.startsWith('slf4j-simple'))
        ? 'slf4j-simple'
        : 'none';
    return { java, classpath: jars.join(path.delimiter), logging, source: `ZK_HOME=${zkHome}` };
  }
  if (!fs.existsSync(path.join(DEBIAN_JAVA_DIR, 'zookeeper.jar'))) {
    throw new HarnessError('ZK_NOT_FOUND', `ZooKeeper not found (no ${DEBIAN_JAVA_DIR}/zookeeper.jar); ${HOW_TO_INSTALL}`);
  }
  const jars = DEBIAN_JARS.map((j) => path.join(DEBIAN_JAVA_DIR, j)).filter((j) => fs.existsSync(j));
  const logging = jars.some((j) => j.endsWith('slf4j-simple.jar')) ? 'slf4j-simple' : 'none';
  return { java, classpath: jars.join(path.delimiter), logging, source: DEBIAN_JAVA_DIR };
}

function findJava(env: NodeJS.ProcessEnv): string {
  const candidates: string[] = [];
  if (env.JAVA_HOME) candidates.push(path.join(env.JAVA_HOME, 'bin', 'java'));
  for (const dir of (env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'java'));
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  throw new HarnessError('ZK_NOT_FOUND', `no java on PATH (ZooKeeper needs a JRE: apt-get install default-jre-headless); ${HOW_TO_INSTALL}`);
}

function jarsIn(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.jar'))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}
