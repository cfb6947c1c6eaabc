//! Who sent a request: the peer, or behind a trusted reverse proxy the client it forwarded for.
//! Throttling and the logs key on this address, so a forged header must never choose it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use actix_web::http::header::HeaderValue;
use actix_web::HttpRequest;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// One address range: a network address and how many leading bits of it are fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `ADDR/PREFIX`, or a bare address for that address alone. Bits past the prefix must be
    /// zero: `10.0.0.1/8` is more likely a typo for `/32` than a wish to trust a whole network.
    fn parse(text: &str) -> Result<Cidr, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("'{text}' is not an IP address or CIDR range"))?;
        let bits = bit_count(address);
        let prefix = match prefix {
            None => bits,
            Some(digits) => digits
                .parse::<u8>()
                .ok()
                .filter(|prefix| digits.bytes().all(|b| b.is_ascii_digit()) && *prefix <= bits)
                .ok_or_else(|| format!("'{text}' has a prefix length that is not 0 to {bits}"))?,
        };
        let cidr = Cidr {
            network: address,
            prefix,
        };
        if cidr.masked(address) != address {
            return Err(format!(
                "'{text}' has bits set past its prefix length: give the network's first address, \
                 or the address alone"
            ));
        }
        Ok(cidr.canonical())
    }

    /// Ranges inside `::ffff:0:0/96` become IPv4 ranges, as the addresses they hold do.
    fn canonical(self) -> Cidr {
        match self.network {
            IpAddr::V6(v6) if self.prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => Cidr {
                    network: IpAddr::V4(v4),
                    prefix: self.prefix - 96,
                },
                None => self,
            },
            _ => self,
        }
    }

    fn masked(self, address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        }
    }

    /// Whether a canonical address is in the range.
    fn contains(self, address: IpAddr) -> bool {
        address.is_ipv4() == self.network.is_ipv4() && self.masked(address) == self.network
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn bit_count(address: IpAddr) -> u8 {
    if address.is_ipv4() {
        32
    } else {
        128
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed; none by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[Cidr]>);

impl TrustedProxies {
    /// `CIDR[,CIDR...]`, IPv4 and IPv6; a bare address means that address alone. A blank
    /// value is none, as the default: an environment file may leave the variable empty.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        if text.trim().is_empty() {
            return Ok(TrustedProxies::default());
        }
        let ranges = text
            .split(',')
            .map(str::trim)
            .map(|range| match range {
                "" => Err("an empty range between commas".to_owned()),
                range => Cidr::parse(range),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| format!("{reason}; expected e.g. 10.0.0.0/8,2001:db8::1"))?;
        Ok(TrustedProxies(ranges.into()))
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(address))
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, range) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{range}")?;
        }
        Ok(())
    }
}

/// The address a request is attributed to: its peer's, unless the peer is a trusted proxy.
/// `None` only where there is no peer at all (a request built in a unit test).
pub fn client_address(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    // The header is looked up only when its sender is believed: nearly never, on most servers.
    match req.app_data::<TrustedProxies>() {
        Some(proxies) if proxies.trusts(peer) => {
            let forwarded = req.headers().get_all(X_FORWARDED_FOR);
            Some(attribute(peer, forwarded, proxies))
        }
        _ => Some(peer),
    }
}

/// Walks the forwarding chain from the peer leftwards while each hop is a trusted proxy: the
/// first hop that is not is the client. Only a trusted hop's word about the hop before it is
/// believed, so text that cannot be read as an address stops the walk at the last trusted hop;
/// the header's own text is never used, nor logged.
fn attribute<'a>(
    peer: IpAddr,
    forwarded: impl DoubleEndedIterator<Item = &'a HeaderValue>,
    proxies: &TrustedProxies,
) -> IpAddr {
    let mut last_trusted = peer.to_canonical();
    if !proxies.trusts(last_trusted) {
        return last_trusted;
    }
    for value in forwarded.rev() {
        let Ok(list) = value.to_str() else {
            return last_trusted;
        };
        // Empty list elements are allowed by HTTP's list syntax and say nothing.
        for hop in list
            .rsplit(',')
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
        {
            let Ok(hop) = hop.parse::<IpAddr>() else {
                return last_trusted;
            };
            let hop = hop.to_canonical();
            if !proxies.trusts(hop) {
                return hop;
            }
            last_trusted = hop;
        }
    }
    last_trusted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(text: &str) -> TrustedProxies {
        TrustedProxies::parse(text).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn walk(trusted: &str, peer: &str, headers: &[&[u8]]) -> IpAddr {
        let values: Vec<HeaderValue> = headers
            .iter()
            .map(|bytes| HeaderValue::from_bytes(bytes).unwrap())
            .collect();
        attribute(ip(peer), values.iter(), &proxies(trusted))
    }

    #[test]
    fn ranges_parse_as_ipv4_and_ipv6_cidrs_or_bare_addresses() {
        for (text, shown) in [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("192.168.1.7", "192.168.1.7/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("2001:db8::/32", "2001:db8::/32"),
            ("::1", "::1/128"),
            ("::/0", "::/0"),
            ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
            ("::ffff:127.0.0.1", "127.0.0.1/32"),
            (" 10.1.0.0/16 , fd00::/8", "10.1.0.0/16,fd00::/8"),
            ("", ""),
            (" ", ""),
        ] {
            assert_eq!(proxies(text).to_string(), shown, "{text}");
        }
    }

    #[test]
    fn a_bad_range_is_refused_with_its_text() {
        for bad in [
            "10.0.0.0/8,",
            ",",
            "localhost",
            "10.0.0.300",
            "10.0.0.0/33",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/",
            "10.0.0.0/8/8",
            "10.0.0.1/8",
            "2001:db8::/129",
            "2001:db8::1/32",
            "[::1]",
            "10.0.0.1:80",
            "10.0.0.0/08x",
        ] {
            let error = TrustedProxies::parse(bad).unwrap_err();
            let named = bad.ends_with(',') || error.contains(bad);
            assert!(named, "{bad}: {error}");
            assert!(!error.contains('\n'), "{error}");
        }
    }

    #[test]
    fn ranges_contain_the_addresses_under_their_prefix() {
        let trusted = proxies("10.0.0.0/8,192.168.1.7,2001:db8::/32,0.0.0.0/32");
        for inside in [
            "10.0.0.0",
            "10.255.255.255",
            "192.168.1.7",
            "2001:db8::1",
            "::ffff:10.1.2.3",
            "0.0.0.0",
        ] {
            assert!(trusted.trusts(ip(inside).to_canonical()), "{inside}");
        }
        for outside in ["11.0.0.0", "192.168.1.8", "2001:db9::1", "::", "::a00:1"] {
            assert!(!trusted.trusts(ip(outside).to_canonical()), "{outside}");
        }
        assert!(proxies("::/0").trusts(ip("fe80::1")));
        assert!(!proxies("::/0").trusts(ip("1.2.3.4")));
        assert!(proxies("0.0.0.0/0").trusts(ip("1.2.3.4")));
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(walk("10.0.0.1", "1.2.3.4", &[b"5.6.7.8"]), ip("1.2.3.4"));
        assert_eq!(walk("10.0.0.1", "1.2.3.4", &[]), ip("1.2.3.4"));
        assert_eq!(
            walk("10.0.0.1", "::ffff:1.2.3.4", &[b"5.6.7.8"]),
            ip("1.2.3.4")
        );
    }

    /// Each case: the X-Forwarded-For headers that peer 10.0.0.1 sends, with 10.0.0.0/8
    /// trusted, and the client they come to.
    fn behind_10_0_0_1(cases: &[(&[&[u8]], &str)]) {
        for (headers, client) in cases {
            assert_eq!(
                walk("10.0.0.0/8", "10.0.0.1", headers),
                ip(client),
                "{headers:?}"
            );
        }
    }

    #[test]
    fn behind_a_trusted_peer_the_rightmost_untrusted_hop_is_the_client() {
        let cases: &[(&[&[u8]], &str)] = &[
            (&[b"5.6.7.8"], "5.6.7.8"),
            (&[b" 5.6.7.8 "], "5.6.7.8"),
            (&[b"1.2.3.4, 5.6.7.8"], "5.6.7.8"),
            (&[b"1.2.3.4,5.6.7.8,10.0.0.2"], "5.6.7.8"),
            (&[b"1.2.3.4", b"5.6.7.8"], "5.6.7.8"),
            (&[b"1.2.3.4, 5.6.7.8", b"10.0.0.3, 10.0.0.2"], "5.6.7.8"),
            (&[b"5.6.7.8", b"10.0.0.2"], "5.6.7.8"),
            (&[b"2001:db8::5"], "2001:db8::5"),
            (&[b"::ffff:5.6.7.8"], "5.6.7.8"),
            (&[b"5.6.7.8, ::ffff:10.0.0.2"], "5.6.7.8"),
            (&[b"5.6.7.8,,", b""], "5.6.7.8"),
        ];
        behind_10_0_0_1(cases);
    }

    #[test]
    fn when_every_hop_is_trusted_the_leftmost_is_the_client() {
        let cases: &[(&[&[u8]], &str)] = &[
            (&[], "10.0.0.1"),
            (&[b""], "10.0.0.1"),
            (&[b"10.0.0.2"], "10.0.0.2"),
            (&[b"10.0.0.3, 10.0.0.2"], "10.0.0.3"),
            (&[b"10.0.0.3", b"10.0.0.2"], "10.0.0.3"),
        ];
        behind_10_0_0_1(cases);
        assert_eq!(
            walk("::ffff:10.0.0.0/104", "::ffff:10.0.0.1", &[]),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn an_unreadable_hop_stops_at_the_last_trusted_one() {
        let cases: &[(&[&[u8]], &str)] = &[
            (&[b"garbage"], "10.0.0.1"),
            (&[b"5.6.7.8:4321"], "10.0.0.1"),
            (&[b"[2001:db8::5]"], "10.0.0.1"),
            (&[b"[2001:db8::5]:80"], "10.0.0.1"),
            (&[b"fe80::1%eth0"], "10.0.0.1"),
            (&[b"unknown"], "10.0.0.1"),
            (&[b"5.6.7.8, garbage"], "10.0.0.1"),
            (&[b"5.6.7.8, garbage, 10.0.0.2"], "10.0.0.2"),
            (&[b"5.6.7.8", b"garbage", b"10.0.0.2"], "10.0.0.2"),
            (&[b"garbage, 5.6.7.8"], "5.6.7.8"),
            (&[b"\xff5.6.7.8"], "10.0.0.1"),
            (&[b"5.6.7.8", b"10.0.0.2, \xff"], "10.0.0.1"),
            (&[b"5.6.7.8 9.9.9.9"], "10.0.0.1"),
            (&[b"1.2.3.4\t5.6.7.8"], "10.0.0.1"),
        ];
        behind_10_0_0_1(cases);
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        let value = HeaderValue::from_static("5.6.7.8");
        assert_eq!(
            attribute(ip("127.0.0.1"), std::iter::once(&value), &none),
            ip("127.0.0.1")
        );
    }
}
