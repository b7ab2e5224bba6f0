// Who sent a request, past the reverse proxies a deployment trusts (TRUSTED_PROXIES). Used to count rejected provider
// callbacks per sender: behind a proxy every request comes from the proxy's address, and a sender of forged
// callbacks would otherwise get the provider's real callbacks refused along with its own.
import { BlockList, isIP } from 'node:net';

/** Why a TRUSTED_PROXIES item is not an IP address or a CIDR range (`10.0.0.0/8`, `fd00::/8`); undefined if it is. */
export function trustedProxyProblem(item: string): string | undefined {
  const [address = '', prefix, extra] = item.split('/');
  const family = isIP(address);
  if (!family || extra !== undefined) return `"${item}" is not an IP address or a CIDR range such as 10.0.0.0/8.`;
  if (prefix === undefined) return undefined;
  const bits = Number(prefix);
  const max = family === 4 ? 32 : 128;
  return /^\d+$/.test(prefix) && bits <= max ? undefined : `"${item}": the prefix length must be 0 to ${max}.`;
}

/**
 * An address as a socket or a proxy writes it, without what is not the address: quotes, a port some proxies append
 * (`203.0.113.5:4711`, `[2001:db8::1]:4711`), and the `::ffff:` of an IPv4 peer on a dual-stack socket. A port must go:
 * each connection has its own, and the limit would count every one of them as another sender.
 */
function plain(address: string): string {
  let value = address.trim().replace(/^"(.*)"$/, '$1');
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed) value = bracketed[1]!;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(value)) value = value.slice(0, value.lastIndexOf(':'));
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(value) ? value.slice(7) : value;
}

/**
 * A function from a request's socket peer and its `X-Forwarded-For` header to the address that sent it. A peer that
 * is not a trusted proxy is the sender, whatever the header says (anyone can write one). A trusted proxy's request
 * is attributed to the rightmost forwarded address that is not a trusted proxy itself: each proxy appends the
 * address it received the request from, so the entries left of that one were written by the sender and prove
 * nothing. With no proxy trusted (the default) the peer is always the sender.
 */
export function clientAddressResolver(trustedProxies: readonly string[]): (peer: string | undefined, forwardedFor: string | undefined) => string {
  const trusted = new BlockList();
  for (const item of trustedProxies) {
    const [address, prefix] = item.split('/') as [string, string | undefined];
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) trusted.addAddress(address, type);
    else trusted.addSubnet(address, Number(prefix), type);
  }
  const isTrusted = (address: string): boolean => {
    const family = isIP(address);
    return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
  return (peer, forwardedFor) => {
    if (!peer) return 'unknown';
    let sender = plain(peer);
    if (!trustedProxies.length || !isTrusted(sender) || !forwardedFor) return sender;
    const hops = forwardedFor.split(',').map(plain);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      // A hop that is not an address (`unknown`, garbage) cannot be traced further: it is the sender.
      if (!isIP(hop)) return hop || sender;
      sender = hop;
      if (!isTrusted(hop)) return hop;
    }
    // Every hop is a trusted proxy: the leftmost one received the request first.
    return sender;
  };
}
