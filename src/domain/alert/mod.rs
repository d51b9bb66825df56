//! Alerts: what a human is told about a hit, and how it is rendered for
//! each channel.

pub mod ecs;
pub mod render;

use serde::{Deserialize, Serialize};

use crate::domain::hit::Hit;

/// How loud an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Someone is using a leaked decoy.
    Critical,
    /// An edited (tampered) token or a retired one: still critical to act on,
    /// kept apart so filter policies can route it.
    High,
    /// A test hit sent by `honeytoken test`.
    Info,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Info => "info",
        })
    }
}

/// One alert: a hit, or a summary of the hits a throttle window held back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// One-line description.
    pub summary: String,
    /// Severity.
    pub severity: Severity,
    /// Stable per (token, source): lets PagerDuty and others group repeats.
    pub dedup_key: String,
    /// The hit (for a summary, the last hit of the window).
    pub hit: Hit,
    /// For a summary: how many more requests the window held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<u64>,
    /// For a summary: the window length in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<u64>,
    /// Set when the alert went out before its hit was in the store
    /// (`spooled`, `write-pending`, `not-stored-see-log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_yet_stored: Option<String>,
    /// For a summary: the episode it closes, its throttle window as a
    /// whole ([`Alert::episode_start`], [`Alert::episode_requests`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode: Option<Episode>,
}

/// An episode: the hits of one (token, source) pair, tampered or not, in
/// one throttle window: the one that opened it (alerted at once unless it
/// was a flood's counter record) and those its summary tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episode {
    /// When the window opened: the time of its first hit.
    pub start: crate::domain::time::Timestamp,
    /// Requests in the window in all, the first included.
    pub requests: u64,
}

impl Alert {
    /// The immediate alert for a hit.
    pub fn for_hit(hit: &Hit) -> Alert {
        Alert {
            summary: render::summary_line(hit),
            severity: severity(hit),
            dedup_key: dedup_key(hit),
            hit: hit.clone(),
            suppressed: None,
            window_secs: None,
            not_yet_stored: None,
            episode: None,
        }
    }

    /// A summary of `count` more hits of the same token and source within a window.
    pub fn summary(last: &Hit, count: u64, window_secs: u64) -> Alert {
        let mins = window_secs.div_ceil(60);
        Alert {
            summary: format!(
                "{count} more request{} from {} in {mins} minute{} with honeytoken {} ({}){}",
                if count == 1 { "" } else { "s" },
                last.source_ip,
                if mins == 1 { "" } else { "s" },
                last.token_id,
                render::label_or_orphan(last),
                match &last.via {
                    crate::domain::hit::Via::Decoy => String::new(),
                    crate::domain::hit::Via::Guard { service } => format!(" against {service}"),
                },
            ),
            severity: severity(last),
            dedup_key: dedup_key(last),
            hit: last.clone(),
            suppressed: Some(count),
            window_secs: Some(window_secs),
            not_yet_stored: None,
            episode: None,
        }
    }

    /// Names the episode (window) a summary closes.
    pub fn with_episode(mut self, episode: Episode) -> Alert {
        self.episode = Some(episode);
        self
    }

    /// When the episode this alert belongs to began: its throttle window's
    /// start, which for an alert sent at once is its own hit's time. A
    /// summary tells the rest of the same episode; the next hit after the
    /// window opens another.
    pub fn episode_start(&self) -> crate::domain::time::Timestamp {
        self.episode.map_or(self.hit.received_at, |e| e.start)
    }

    /// Requests of the episode this alert has seen: its own hit's for an
    /// alert sent at once, the whole window's for a summary that knows its
    /// episode (else the first and those the summary counts).
    pub fn episode_requests(&self) -> u64 {
        match (self.episode, self.suppressed) {
            (Some(e), _) => e.requests,
            (None, Some(n)) => n + 1,
            (None, None) => self.hit.count.max(1),
        }
    }
}

/// Severity of a hit. A tampered JWT (edited claims, changed `alg`, stripped
/// signature) is at least as severe as an untouched one: an attacker editing a
/// token is the loudest signal there is, so tampering can never lower the page.
pub fn severity(hit: &Hit) -> Severity {
    if hit.test {
        Severity::Info
    } else if hit.orphan && !hit.tampered {
        Severity::High
    } else {
        Severity::Critical
    }
}

/// The grouping key of a (token, source) pair.
pub fn dedup_key(hit: &Hit) -> String {
    format!("honeytoken/{}/{}", hit.token_id, hit.source_ip)
}
