// Preloaded into configurable-http-proxy (node --import): a request whose path is
// not valid percent-encoded UTF-8 (an overlong "%c0%ae", a lone "%ff") gets a 400
// with a JSON message. Unpatched, the proxy's own decodeURIComponent throws while
// it looks for the route, and the client sees a 500 from the platform's front door.
// A URL longer than MAX_URL gets a 414 here, read whole first (node runs with a
// large --max-http-header-size), rather than a reset connection.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const require = createRequire(pathToFileURL(process.argv[1]).href);
const lib = pathToFileURL(require.resolve("../lib/configproxy.js")).href;
const { ConfigurableProxy } = await import(lib);

const original = ConfigurableProxy.prototype.handleProxyWeb;

const MAX_URL = 16 * 1024;

function refuse(res, status, message) {
  const body = JSON.stringify({ message, error_code: "INVALID_PARAMETER_VALUE", status });
  res.writeHead(status, {
    "Content-Type": "application/json; charset=UTF-8",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

ConfigurableProxy.prototype.handleProxyWeb = function (req, res) {
  if (req.url.length > MAX_URL) {
    refuse(res, 414, `The request URL is longer than ${MAX_URL} characters.`);
    return undefined;
  }
  try {
    decodeURIComponent(new URL(req.url, "http://example.com").pathname);
  } catch {
    refuse(res, 400, "The request path is not valid percent-encoded UTF-8.");
    return undefined;
  }
  return original.call(this, req, res);
};
