import http from 'node:http';
import https from 'node:https';

/** A body past this is not read further (the members' /primary and /metrics are a few KB). */
const BODY_MAX = 1_000_000;

/**
 * GET of one of a member's operator endpoints (the dashboard's probes, the HAProxy bridge's
 * readiness poll): the status and body, or undefined when there is no whole answer within
 * `deadlineMs` — all of it, not an idle timeout, so that a trickling answer ends too — or the body
 * runs past 1 MB.
 */
export function httpGet(url: string, deadlineMs: number): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    let req: http.ClientRequest;
    const get = url.startsWith('https:') ? https.get : http.get;
    try {
      req = get(url, { signal: AbortSignal.timeout(deadlineMs) }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
          if (body.length > BODY_MAX) {
            req.destroy();
            resolve(undefined);
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve(undefined));
        res.on('close', () => resolve(undefined));
      });
    } catch {
      resolve(undefined);
      return;
    }
    req.on('error', () => resolve(undefined));
  });
}
