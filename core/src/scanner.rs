//! Known secret scanners, recognised by the user agent of their
//! verification call. A scanner that verifies a key has found it where it
//! looks (a public repository, a paste, a package): the key has leaked. Its
//! hit is labelled, never dropped, and still alerts.
//!
//! To name another scanner, add a row to [`SCANNERS`] with the user agent
//! its verification really sends (from its source or a recorded request)
//! and a test beside the others.

/// One known scanner: its name as alerts show it, and the product token its
/// verification call's user agent starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scanner {
    /// The name alerts show ("TruffleHog").
    pub name: &'static str,
    /// The user agent's first product token, compared without regard to
    /// case: the whole user agent, or its start followed by `/` or a space.
    pub agent: &'static str,
}

/// Every scanner recognised, in one place.
pub const SCANNERS: &[Scanner] = &[
    // TruffleHog's AWS detector verifies a key with sts:GetCallerIdentity,
    // replacing the SDK's user agent with its own: "TruffleHog", or
    // "TruffleHog <suffix>" when its operator configured one
    // (trufflesecurity/trufflehog, pkg/common/http.go `UserAgent` and
    // pkg/detectors/aws/access_keys/accesskey.go `replaceUserAgentMiddleware`).
    // Its other detectors' HTTP verifications send the same.
    Scanner {
        name: "TruffleHog",
        agent: "TruffleHog",
    },
];

/// The scanner whose verification call carried `user_agent`, if any.
pub fn scanner_for(user_agent: &str) -> Option<&'static str> {
    let ua = user_agent.trim_start();
    SCANNERS
        .iter()
        .find(|s| {
            ua.get(..s.agent.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(s.agent))
                && matches!(ua.as_bytes().get(s.agent.len()), None | Some(b'/' | b' '))
        })
        .map(|s| s.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trufflehog_verifications_are_named() {
        // As TruffleHog sends them: bare, and with an operator's suffix.
        assert_eq!(scanner_for("TruffleHog"), Some("TruffleHog"));
        assert_eq!(scanner_for("TruffleHog acme-secops"), Some("TruffleHog"));
        assert_eq!(scanner_for("trufflehog/3.88.0"), Some("TruffleHog"));
    }

    #[test]
    fn ordinary_clients_and_look_alikes_are_not() {
        for ua in [
            "aws-cli/2.22.0 md/arch#x86_64 lang/python#3.12.6",
            "Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux#6.8 lang/python#3.12.6",
            "aws-sdk-go-v2/1.32.6 os/linux lang/go#1.23.4 api/sts#1.33.2",
            "curl/8.5.0",
            "TruffleHogger",
            "my TruffleHog",
            "",
            "Truffle",
        ] {
            assert_eq!(scanner_for(ua), None, "{ua}");
        }
    }

    #[test]
    fn every_row_recognises_its_own_agent() {
        for s in SCANNERS {
            assert_eq!(scanner_for(s.agent), Some(s.name));
            assert!(!s.agent.contains([' ', '/']), "{}: one product token", s.name);
        }
    }
}
