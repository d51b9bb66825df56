//! Alerts: what a human is told about a hit, and how it is rendered for
//! each channel.

pub mod ecs;
pub mod render;

use serde::{Deserialize, Serialize};

use crate::domain::hit::Hit;
use crate::domain::time::Timestamp;
use crate::domain::token::TokenState;

/// The states a hit can show that matter to the throttle: a plain use of an
/// active token, and the three that are worse (a tampered token, a retired
/// token in use, an unknown token with a valid tag). A throttle window
/// keeps the set it alerted on and the set it folded into its summary: a
/// hit showing a worse state than the window alerted on alerts at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct HitStates(u8);

impl HitStates {
    const PLAIN: u8 = 1;
    const RETIRED: u8 = 2;
    const ORPHAN: u8 = 4;
    const TAMPERED: u8 = 8;
    const WORSE: u8 = Self::RETIRED | Self::ORPHAN | Self::TAMPERED;
    /// Every state and its name, in the order a summary lists them.
    const NAMES: [(u8, &'static str); 4] = [
        (Self::TAMPERED, "tampered"),
        (Self::RETIRED, "retired"),
        (Self::ORPHAN, "orphan"),
        (Self::PLAIN, "active"),
    ];

    /// No state.
    pub const fn empty() -> HitStates {
        HitStates(0)
    }

    /// The states `hit` shows (never empty).
    pub fn of(hit: &Hit) -> HitStates {
        let mut b = 0;
        if hit.tampered {
            b |= Self::TAMPERED;
        }
        if hit.orphan {
            b |= Self::ORPHAN;
        }
        if hit.token_state == Some(TokenState::Retired) {
            b |= Self::RETIRED;
        }
        HitStates(if b == 0 { Self::PLAIN } else { b })
    }

    /// Both sets.
    pub fn union(self, other: HitStates) -> HitStates {
        HitStates(self.0 | other.0)
    }

    /// Whether this set holds a worse state than any in `alerted`: such a
    /// hit is never folded into a summary of a window that alerted on less.
    pub fn worse_than(self, alerted: HitStates) -> bool {
        self.0 & !alerted.0 & Self::WORSE != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The names of the states in the set (`tampered`, `retired`, `orphan`,
    /// `active`), worst first: how stores keep it and summaries say it.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(b, _)| self.0 & b != 0)
            .map(|(_, n)| *n)
            .collect()
    }

    /// The set of the named states; unknown names are skipped (a store
    /// written by a later version).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> HitStates {
        let mut b = 0;
        for n in names {
            if let Some((bit, _)) = Self::NAMES.iter().find(|(_, name)| *name == n) {
                b |= bit;
            }
        }
        HitStates(b)
    }
}

/// What a summary counts: the hits a throttle window folded.
#[derive(Debug, Clone, PartialEq)]
pub struct Folded<'a> {
    /// The latest of them (shown in the summary).
    pub last: &'a Hit,
    /// How many requests.
    pub count: u64,
    /// The time of the first of them.
    pub first_at: Timestamp,
    /// Every state they showed.
    pub states: HitStates,
    /// The throttle window's length.
    pub window_secs: u64,
}

/// How loud an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Someone is using a leaked decoy.
    Critical,
    /// An edited (tampered) token or a retired one: still critical to act on,
    /// kept apart so filter policies can route it.
    High,
    /// A suspicious request: past the scan bounds with no token found,
    /// perhaps one hidden where the scan stops.
    Low,
    /// A test hit sent by `honeytoken test`.
    Info,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Low => "low",
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
    /// For a summary: the time of the first hit it counts (the last is `hit`'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_at: Option<Timestamp>,
    /// For a summary: when it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emitted_at: Option<Timestamp>,
    /// For a summary: every state of the hits it counts (`tampered`,
    /// `retired`, `orphan`, `active`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<String>,
    /// Set when the alert went out before its hit was in the store
    /// (`spooled`, `write-pending`, `not-stored-see-log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_yet_stored: Option<String>,
    /// For a summary: the episode it closes, its throttle window as a
    /// whole ([`Alert::episode_start`], [`Alert::episode_requests`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode: Option<Episode>,
}

/// An episode: the hits of one (token, source) pair in one throttle window:
/// the one that opened it (alerted at once unless it was a flood's counter
/// record) and those its summary tells. A hit that alerts within the window
/// for a worse state (tampered, retired, orphan) is an episode of its own.
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
            first_at: None,
            emitted_at: None,
            states: Vec::new(),
            not_yet_stored: None,
            episode: None,
        }
    }

    /// A summary of `count` requests of which only the last, `last`, is
    /// known: its span and states are the last hit's, written at its time.
    pub fn summary(last: &Hit, count: u64, window_secs: u64) -> Alert {
        let folded = Folded {
            last,
            count,
            first_at: last.received_at,
            states: HitStates::of(last),
            window_secs,
        };
        Alert::summary_of(&folded, last.received_at)
    }

    /// The summary of the hits a throttle window folded, written at `emitted`:
    /// it says the real span (first to last hit), every state the hits
    /// showed, and when it was written.
    pub fn summary_of(f: &Folded<'_>, emitted: Timestamp) -> Alert {
        let last = f.last;
        let count = f.count;
        let states = f.states.names();
        let summary = if last.is_suspicious() {
            format!(
                "{count} more suspicious request{} (no token: {}) from {} {}{}",
                if count == 1 { "" } else { "s" },
                last.over_bounds.join(", "),
                last.source_ip,
                render::span_text(f.first_at, last.received_at),
                match &last.via {
                    crate::domain::hit::Via::Decoy => String::new(),
                    crate::domain::hit::Via::Guard { service } => format!(" against {service}"),
                },
            )
        } else {
            format!(
                "{count} more request{}{} from {} {} with honeytoken {} ({}){}",
                if count == 1 { "" } else { "s" },
                if states.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", states.join(", "))
                },
                last.source_ip,
                render::span_text(f.first_at, last.received_at),
                last.token_id,
                render::label_or_orphan(last),
                match &last.via {
                    crate::domain::hit::Via::Decoy => String::new(),
                    crate::domain::hit::Via::Guard { service } => format!(" against {service}"),
                },
            )
        };
        Alert {
            summary,
            // A folded tampered hit makes the summary as loud as its own alert.
            severity: if states.contains(&"tampered") {
                Severity::Critical
            } else {
                severity(last)
            },
            dedup_key: dedup_key(last),
            hit: last.clone(),
            suppressed: Some(count),
            window_secs: Some(f.window_secs),
            first_at: Some(f.first_at),
            emitted_at: Some(emitted),
            states: states.into_iter().map(String::from).collect(),
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
    } else if hit.is_suspicious() {
        Severity::Low
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
