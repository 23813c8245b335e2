import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json(): any;
}

/** A raw HTTP request on a connection of its own (so we control Host and odd header bytes exactly as an attacker would). */
export function request(url: string, host: string, headers: http.OutgoingHttpHeaders = {}, path = '/', method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    // The path as given (a URL string would be normalised: dot segments resolved, and so on).
    const req = http.request({ host: hostname, port, path, method, headers: { host, ...headers }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end();
  });
}
