import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json(): any;
}

/** A raw HTTP request (so we control Host and odd header bytes exactly as an attacker would). */
export function request(url: string, host: string, headers: Record<string, string> = {}, path = '/'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { headers: { host, ...headers }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end();
  });
}
