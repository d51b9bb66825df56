//! Value parsers shared by the commands' options: one place for each rule.

use std::net::{SocketAddr, ToSocketAddrs};

/// A listening address: `IP:PORT`, or `HOST:PORT` with the host name
/// resolved (its first address; `localhost:8080` is the loopback).
pub fn socket_addr(s: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let hint = "use HOST:PORT, e.g. 127.0.0.1:8080, [::1]:8080 or localhost:8080";
    if s.rsplit_once(':')
        .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
    {
        return Err(format!("{s:?} is not HOST:PORT; {hint}"));
    }
    match s.to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("{s:?} resolves to no address; {hint}")),
        Err(e) => Err(format!("cannot resolve {s:?}: {e}; {hint}")),
    }
}

/// A count of at least one (none would serve, list or queue nothing).
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{s:?}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_resolved_and_bad_addresses_refused() {
        assert_eq!(socket_addr("127.0.0.1:9999").unwrap().to_string(), "127.0.0.1:9999");
        assert_eq!(socket_addr("[::1]:9999").unwrap().to_string(), "[::1]:9999");
        let local = socket_addr("localhost:9999").unwrap();
        assert!(local.ip().is_loopback() && local.port() == 9999, "{local}");
        for bad in [
            "localhost",
            "localhost:",
            ":80",
            "localhost:99999",
            "no such host.invalid:80",
        ] {
            let e = socket_addr(bad).unwrap_err();
            assert!(e.contains("HOST:PORT"), "{bad}: {e}");
        }
    }

    #[test]
    fn zero_is_refused() {
        assert_eq!(at_least_one("1"), Ok(1));
        assert!(at_least_one("0").unwrap_err().contains("at least 1"));
        assert!(at_least_one("-1").is_err());
    }
}
