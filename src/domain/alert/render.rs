//! Rendering an alert for people (terminal, email, Slack) and machines (JSON).
//! Every field shown came through [`crate::domain::sanitize`], so none can inject
//! markup, escape sequences or fake lines.

use std::fmt::Write;

use super::Alert;
use crate::domain::hit::{FoundIn, Hit, Via};
use crate::domain::time::Timestamp;

/// `label` or a note that the token has no record.
pub fn label_or_orphan(hit: &Hit) -> String {
    if hit.orphan {
        "unknown token (no record)".to_string()
    } else {
        hit.label.clone()
    }
}

/// What a suspicious request's alerts say it is: `suspicious request, no
/// token: cookies, body` (from the skipped parts, whatever the label says).
pub fn suspicious_text(hit: &Hit) -> String {
    crate::domain::hit::suspicious_label(&hit.over_bounds)
}

/// The span of a summary's hits, as a summary line says it: `at T` for
/// one instant, else `between FIRST and LAST (DURATION)`.
pub fn span_text(first: Timestamp, last: Timestamp) -> String {
    let ms = last.unix_ms() - first.unix_ms();
    if ms <= 0 {
        return format!("at {last}");
    }
    format!("between {first} and {last} ({})", duration_text(ms))
}

/// A duration for people: `340 ms`, `4.2 s`, `3 min 12 s`, `2 h 5 min`.
pub fn duration_text(ms: i64) -> String {
    match ms {
        ..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{} h {} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// What a summary's details say it stands for: its count, span and states.
fn summarises(a: &Alert, n: u64) -> String {
    let span = match a.first_at {
        Some(first) => span_text(first, a.hit.received_at),
        // An alert queued by an earlier version: only its window is known.
        None => format!("within {} minute(s)", a.window_secs.unwrap_or(0).div_ceil(60)),
    };
    let states = if a.states.is_empty() {
        String::new()
    } else {
        format!(", states: {}", a.states.join(", "))
    };
    format!("{n} further request(s) of the same token from the same source {span}{states}; the last one is shown")
}

/// Flags worth a glance: tampered, orphan, test, ignored, retired, disabled.
pub fn flags(hit: &Hit) -> Vec<String> {
    let mut f = Vec::new();
    if hit.tampered {
        if hit.tampered_claims.is_empty() {
            f.push("TAMPERED".to_string());
        } else {
            f.push(format!("TAMPERED({})", hit.tampered_claims.join(",")));
        }
    }
    if hit.orphan {
        f.push("orphan".into());
    }
    if hit.test {
        f.push("test".into());
    }
    if hit.ignored {
        f.push("ignored".into());
    }
    if !hit.over_bounds.is_empty() {
        f.push(format!("over-bounds({})", hit.over_bounds.join(",")));
    }
    if let Some(s) = &hit.scanner {
        f.push(format!("scanner({s})"));
    }
    if let Some(s) = hit.token_state
        && s != crate::domain::token::TokenState::Active
    {
        f.push(s.to_string());
    }
    f
}

/// Where the token was used: "the decoy endpoint" (naming the tool
/// persona that answered, which says which tool the attacker ran), or the
/// real service a guard protects (an attacker trying the key where it
/// really works).
pub fn used_against(hit: &Hit) -> String {
    if let Some(e) = &hit.aws_event {
        return format!("AWS: {e}");
    }
    match (&hit.via, &hit.persona) {
        (Via::Decoy, Some(p)) => format!("the decoy endpoint, answering as {p}"),
        (Via::Decoy, None) => "the decoy endpoint".to_string(),
        (Via::Guard { service }, _) => service.clone(),
    }
}

/// What the request was: `METHOD path?query`, or for a decoy AWS key the
/// API call ("GetCallerIdentity on sts.amazonaws.com in eu-west-1, AccessDenied").
pub fn request_text(h: &Hit) -> String {
    match &h.aws_event {
        Some(e) => e.to_string(),
        None => format!(
            "{} {}{}{}",
            h.method,
            h.path,
            if h.query.is_empty() { "" } else { "?" },
            h.query
        ),
    }
}

/// What an exposure notice's alerts say (`found_in=aws-exposure-notice`):
/// AWS itself found the key in public, so it has leaked whoever uses it.
pub const AWS_EXPOSURE_TEXT: &str = "AWS reports this key exposed in public: it attached its \
     AWSCompromisedKeyQuarantine policy to the key's user";

/// One line: what was used, from where, how. A guard's hit names the
/// service ("used against payments-api from ..."); a decoy hit keeps the
/// shorter form.
pub fn summary_line(hit: &Hit) -> String {
    let against = match (&hit.aws_event, &hit.via) {
        (Some(e), _) => format!(" against AWS ({e})"),
        (None, Via::Decoy) => match &hit.persona {
            Some(p) => format!(" against the decoy's {p} persona"),
            None => String::new(),
        },
        (None, Via::Guard { service }) => format!(" against {service}"),
    };
    let mut s = if hit.is_suspicious() {
        format!("{}{against} from {}", suspicious_text(hit), hit.source_ip)
    } else if hit.found_in == FoundIn::AwsExposureNotice {
        // AWS made the call, not an attacker: no "used ... from".
        let call = hit.aws_event.as_ref().map(|e| format!(" ({e})")).unwrap_or_default();
        return format!(
            "honeytoken {} ({}): {AWS_EXPOSURE_TEXT}{call}",
            hit.token_id,
            label_or_orphan(hit)
        );
    } else {
        format!(
            "honeytoken {} ({}) used{against} from {}",
            hit.token_id,
            label_or_orphan(hit),
            hit.source_ip
        )
    };
    if let Some(g) = &hit.geo {
        let place: Vec<&str> = [g.city.as_deref(), g.country_code.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if !place.is_empty() {
            let _ = write!(s, " ({})", place.join(", "));
        }
    }
    if let Some(line) = scanner_line(hit) {
        let _ = write!(s, "; {line}");
    }
    s
}

/// For a secret scanner's verification call, what it means: "a secret
/// scanner (TruffleHog) verified the key: it has leaked".
pub fn scanner_line(hit: &Hit) -> Option<String> {
    hit.scanner
        .as_ref()
        .map(|s| format!("a secret scanner ({s}) verified the key: it has leaked"))
}

/// The terminal flag for a hit not (yet) in the store: its note, then
/// whether anything can be lost and where the hit is if it is, so an
/// operator reading one line knows whether to look further.
pub fn stored_flag(note: &str) -> String {
    let meaning = match note {
        "spooled" => "durable in the spool, moved into the database later; nothing lost",
        "write-pending" => {
            "answered at the deadline with its write still running; nothing lost unless the write \
             fails (then the full hit is printed as a hit_not_stored line) or serve is killed first \
             (its exit line counts those)"
        }
        "not-stored-see-log" => "neither the database nor the spool took it; the full hit is the hit_not_stored line",
        _ => return format!("NOT-YET-STORED({note})"),
    };
    format!("NOT-YET-STORED({note}: {meaning})")
}

/// The terminal line of `serve`.
pub fn terminal_line(a: &Alert) -> String {
    let h = &a.hit;
    if a.suppressed.is_some() {
        // A summary's own time is when it was written; its hits' span is in its text.
        return format!("ALERT {} {}", a.emitted_at.unwrap_or(h.received_at), a.summary);
    }
    let mut flags = flags(h);
    if let Some(n) = &a.not_yet_stored {
        flags.push(stored_flag(n));
    }
    format!(
        "ALERT {} token={} label={:?} location={:?} source_ip={} user_agent={:?} {} {} found_in={} used_against={:?}{}",
        h.received_at,
        h.token_id,
        label_or_orphan(h),
        h.location,
        h.source_ip,
        h.user_agent,
        h.method,
        h.path,
        h.found_in,
        used_against(h),
        if flags.is_empty() {
            String::new()
        } else {
            format!(" flags={}", flags.join(","))
        },
    )
}

/// Plain text for email: everything a person needs to act.
pub fn email_text(a: &Alert) -> String {
    let h = &a.hit;
    let mut s = String::new();
    let _ = writeln!(s, "{}", a.summary);
    let _ = writeln!(s);
    if let Some(n) = a.suppressed {
        let _ = writeln!(
            s,
            "This summarises {}.",
            summarises(a, n).replace("is shown", "is below")
        );
        let _ = writeln!(s);
    }
    if h.is_suspicious() {
        let _ = writeln!(s, "Token:        none ({})", suspicious_text(h));
    } else {
        let _ = writeln!(s, "Token:        {} ({})", h.token_id, label_or_orphan(h));
    }
    let _ = writeln!(
        s,
        "Planted at:   {}",
        if h.location.is_empty() {
            "(not recorded)"
        } else {
            &h.location
        }
    );
    let _ = writeln!(s, "When:         {}", h.received_at);
    let _ = writeln!(s, "Source:       {}", h.source_ip);
    if let Some(g) = &h.geo {
        let place: Vec<String> = [g.city.clone(), g.country.clone().or(g.country_code.clone())]
            .into_iter()
            .flatten()
            .collect();
        let _ = writeln!(s, "Location:     {}", place.join(", "));
    }
    if let Some(asn) = &h.asn {
        let _ = writeln!(s, "Network:      AS{} {}", asn.number, asn.org.as_deref().unwrap_or(""));
    }
    let _ = writeln!(s, "User agent:   {}", h.user_agent);
    if let Some(line) = scanner_line(h) {
        let _ = writeln!(s, "Scanner:      {line}");
    }
    let _ = writeln!(s, "Request:      {}", request_text(h));
    let _ = writeln!(s, "Found in:     {}", h.found_in);
    let _ = writeln!(s, "Used against: {}", used_against(h));
    let flags = flags(h);
    if !flags.is_empty() {
        let _ = writeln!(s, "Flags:        {}", flags.join(", "));
    }
    let _ = writeln!(s, "Hit id:       {}", h.hit_id);
    let _ = writeln!(s);
    let _ = writeln!(s, "What to do next:");
    if h.is_suspicious() {
        let _ = writeln!(
            s,
            "  1. This request went past what is inspected (the parts named above were not read): a token hidden there was not looked for."
        );
        let _ = writeln!(
            s,
            "  2. Check the source address and network against your own (CI, load tests) and look for other requests from it."
        );
        let _ = writeln!(s);
        let _ = writeln!(s, "All suspicious requests:  honeytoken hits --token {}", h.token_id);
        return s;
    }
    let _ = writeln!(
        s,
        "  1. Treat the place this token was planted as leaked: find who could read it and how it got out."
    );
    let _ = writeln!(
        s,
        "  2. Check the source address and network against your own (CI, scanners) before escalating."
    );
    let _ = writeln!(s, "  3. Rotate real credentials stored alongside it.");
    let _ = writeln!(s);
    let _ = writeln!(s, "All hits of this token:  honeytoken hits --token {}", h.token_id);
    s
}

/// Email subject, within SNS's 100-character limit.
pub fn subject(a: &Alert) -> String {
    let against = match &a.hit.via {
        Via::Decoy => String::new(),
        Via::Guard { service } => format!(" against {service}"),
    };
    let mut s = format!(
        "ALARM: honeytoken {} used{against} from {}",
        label_or_orphan(&a.hit),
        a.hit.source_ip
    );
    if a.hit.is_suspicious() {
        s = format!("NOTICE: {}{against} from {}", suspicious_text(&a.hit), a.hit.source_ip);
    } else if a.hit.found_in == FoundIn::AwsExposureNotice {
        s = format!(
            "ALARM: AWS reports honeytoken {} exposed in public",
            label_or_orphan(&a.hit)
        );
    } else if a.suppressed.is_some() {
        s = format!(
            "ALARM: {} more uses of honeytoken {}",
            a.suppressed.unwrap_or(0),
            label_or_orphan(&a.hit)
        );
    }
    // SNS subjects: ASCII printable, no line breaks, at most 100 characters.
    let mut clean: String = s
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' })
        .collect();
    clean.truncate(100);
    clean
}

/// A Slack-compatible `text`.
pub fn slack_text(a: &Alert) -> String {
    // Slack treats < > & as control characters in mrkdwn.
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let h = &a.hit;
    let flags = flags(h);
    format!(
        ":rotating_light: *{}*\nplanted at: {}\n{} via {}, user agent {}{}",
        esc(&a.summary),
        esc(&h.location),
        esc(&request_text(h)),
        esc(&h.found_in.to_string()),
        esc(&h.user_agent),
        if flags.is_empty() {
            String::new()
        } else {
            format!("\nflags: {}", esc(&flags.join(", ")))
        }
    )
}

/// The machine-readable alert (SNS `default`, `sqs`, `lambda`; webhooks):
/// a stable schema of summary, severity, source, dedup key and the hit.
pub fn alert_json(a: &Alert) -> serde_json::Value {
    serde_json::json!({
        "schema": "honeytoken.alert/1",
        "kind": if a.suppressed.is_some() { "summary" } else { "hit" },
        "summary": a.summary,
        "severity": a.severity,
        "source": a.hit.source_ip,
        "token_id": a.hit.token_id,
        "dedup_key": a.dedup_key,
        "test": a.hit.test,
        "suppressed": a.suppressed,
        "window_secs": a.window_secs,
        "first_at": a.first_at,
        "emitted_at": a.emitted_at,
        "states": a.states,
        // Set when the alert went out before its hit was in the store.
        "not_yet_stored": a.not_yet_stored,
        "hits_command": format!("honeytoken hits --token {}", a.hit.token_id),
        // The same text an email subscriber gets, for consumers that forward
        // alerts to people (tickets, chat).
        "text": email_text(a),
        "hit": a.hit,
    })
}

/// Where a CloudWatch-alarm-shaped alert says it comes from: the partition,
/// region and account of the topic it is published to (a real notification
/// carries all three).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmOrigin {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: String,
    /// Region code, e.g. `eu-west-1`.
    pub region: String,
    /// Twelve-digit account id.
    pub account: String,
}

impl AlarmOrigin {
    /// From an SNS topic ARN (`arn:PARTITION:sns:REGION:ACCOUNT:NAME`).
    pub fn from_topic_arn(arn: &str) -> Option<AlarmOrigin> {
        let mut p = arn.split(':');
        let (arn_, partition, service, region, account) = (p.next()?, p.next()?, p.next()?, p.next()?, p.next()?);
        (arn_ == "arn" && service == "sns" && !region.is_empty() && !account.is_empty()).then(|| AlarmOrigin {
            partition: partition.into(),
            region: region.into(),
            account: account.into(),
        })
    }

    /// The region as CloudWatch names it in notifications (e.g. "US East
    /// (N. Virginia)"); the code itself for a region not listed here.
    pub fn region_name(&self) -> String {
        let name = match self.region.as_str() {
            "us-east-1" => "US East (N. Virginia)",
            "us-east-2" => "US East (Ohio)",
            "us-west-1" => "US West (N. California)",
            "us-west-2" => "US West (Oregon)",
            "ca-central-1" => "Canada (Central)",
            "eu-west-1" => "EU (Ireland)",
            "eu-west-2" => "EU (London)",
            "eu-west-3" => "EU (Paris)",
            "eu-central-1" => "EU (Frankfurt)",
            "eu-north-1" => "EU (Stockholm)",
            "eu-south-1" => "EU (Milan)",
            "ap-northeast-1" => "Asia Pacific (Tokyo)",
            "ap-northeast-2" => "Asia Pacific (Seoul)",
            "ap-southeast-1" => "Asia Pacific (Singapore)",
            "ap-southeast-2" => "Asia Pacific (Sydney)",
            "ap-south-1" => "Asia Pacific (Mumbai)",
            "sa-east-1" => "South America (Sao Paulo)",
            other => other,
        };
        name.to_string()
    }
}

/// The alert shaped as a CloudWatch alarm notification, the only message
/// PagerDuty's Amazon CloudWatch integration understands (SNS `https`). It
/// carries every field a real notification has (AWS documents the shape:
/// AlarmName, AlarmDescription, AWSAccountId, NewStateValue, NewStateReason,
/// StateChangeTime, Region, AlarmArn, OldStateValue, and a Trigger with the
/// metric, statistic, period, threshold and comparison; see
/// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
/// and the SNS event examples in the Lambda documentation).
/// `AlarmName` is per (token, source), so PagerDuty groups repeats into one
/// incident; the `AlarmArn` names the `honeytoken` alarm namespace and the
/// pair; the full alert rides along under `honeytoken`.
pub fn cloudwatch_alarm(a: &Alert, origin: &AlarmOrigin) -> serde_json::Value {
    let h = &a.hit;
    // CloudWatch writes StateChangeTime as 2026-11-28T12:00:00.123+0000.
    let when = h.received_at.to_string().replacen('Z', "+0000", 1);
    let mut name = if h.is_suspicious() {
        format!("honeytoken {} from {}", suspicious_text(h), h.source_ip)
    } else {
        format!("honeytoken {} {} from {}", h.token_id, label_or_orphan(h), h.source_ip)
    };
    truncate_chars(&mut name, 255);
    let description = if h.is_suspicious() {
        format!(
            "A request went past what the decoy inspects ({}) with no decoy key where it looked. List them: honeytoken hits --token {}",
            h.over_bounds.join(", "),
            h.token_id
        )
    } else {
        format!(
            "Decoy API key {} ({}) planted at {} was used. List its hits: honeytoken hits --token {}",
            h.token_id,
            label_or_orphan(h),
            if h.location.is_empty() {
                "(not recorded)"
            } else {
                &h.location
            },
            h.token_id
        )
    };
    // Periods are 60 s or multiples of it; a summary covers its window.
    let period = a.window_secs.map_or(60, |s| (s / 60).max(1) * 60);
    serde_json::json!({
        "AlarmName": name,
        "AlarmDescription": description,
        "AWSAccountId": origin.account,
        "AlarmConfigurationUpdatedTimestamp": when,
        "NewStateValue": "ALARM",
        "NewStateReason": a.summary,
        "StateChangeTime": when,
        "Region": origin.region_name(),
        "AlarmArn": format!(
            "arn:{}:cloudwatch:{}:{}:alarm:{}",
            origin.partition, origin.region, origin.account, a.dedup_key
        ),
        "OldStateValue": "OK",
        "OKActions": [],
        "AlarmActions": [],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": "HoneytokenHits",
            "Namespace": "honeytoken",
            "StatisticType": "Statistic",
            "Statistic": "SUM",
            "Unit": "Count",
            "Dimensions": [
                {"value": h.token_id, "name": "TokenId"},
                {"value": h.source_ip, "name": "SourceIp"}
            ],
            "Period": period,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 0.0,
            "TreatMissingData": "notBreaching",
            "EvaluateLowSampleCountPercentile": ""
        },
        "honeytoken": alert_json(a),
    })
}

/// The facts of an alert as (name, value) pairs, in the order a person reads
/// them; chat cards (Teams, Discord) lay them out in their own way. Values
/// are raw (already escaped against control characters by the hit):
/// channels that interpret markdown escape them with [`markdown_escape`].
pub fn facts(a: &Alert) -> Vec<(&'static str, String)> {
    let h = &a.hit;
    let mut f = vec![
        ("Token", format!("{} ({})", h.token_id, label_or_orphan(h))),
        (
            "Planted at",
            if h.location.is_empty() {
                "(not recorded)".to_string()
            } else {
                h.location.clone()
            },
        ),
        ("When", h.received_at.to_string()),
        ("Source", h.source_ip.clone()),
    ];
    if let Some(g) = &h.geo {
        let place: Vec<String> = [g.city.clone(), g.country.clone().or(g.country_code.clone())]
            .into_iter()
            .flatten()
            .collect();
        if !place.is_empty() {
            f.push(("Location", place.join(", ")));
        }
    }
    if let Some(asn) = &h.asn {
        f.push((
            "Network",
            format!("AS{} {}", asn.number, asn.org.as_deref().unwrap_or("")),
        ));
    }
    f.push(("User agent", h.user_agent.clone()));
    f.push(("Request", request_text(h)));
    f.push(("Found in", h.found_in.to_string()));
    if let Some(p) = &h.persona {
        f.push(("Answered as", p.clone()));
    }
    let flags = flags(h);
    if !flags.is_empty() {
        f.push(("Flags", flags.join(", ")));
    }
    if let Some(n) = a.suppressed {
        f.push(("Summarises", summarises(a, n)));
    }
    f.push(("Hit id", h.hit_id.clone()));
    f
}

/// The command that lists every hit of the alert's token.
pub fn hits_command(a: &Alert) -> String {
    format!("honeytoken hits --token {}", a.hit.token_id)
}

/// `s` cut to at most `max` characters (an ellipsis marks the cut), with
/// the markdown control characters backslash-escaped, so attacker text (a
/// user agent, a path) cannot become a link, a mention or formatting in a
/// chat message: `[` `]` (masked links), `*` `_` `~` `` ` `` `|` (emphasis,
/// code, spoilers), `<` `>` `#` `@` (quotes, headings, mentions), and the
/// `:` of `://`, so a URL in a user agent is not made clickable. Hits hold
/// no line breaks, so line-start markers cannot start a list.
pub fn markdown_escape(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max) + 8);
    let mut n = 0;
    let mut rest = s;
    for c in s.chars() {
        let escape = matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '#' | '[' | ']' | '@'
        ) || (c == ':' && rest[1..].starts_with("//"));
        // Room for this character (and its escape), and for an ellipsis
        // unless it is the last one.
        let last = rest.len() == c.len_utf8();
        if n + usize::from(escape) + 1 + usize::from(!last) > max {
            out.push('…');
            break;
        }
        if escape {
            out.push('\\');
            n += 1;
        }
        out.push(c);
        n += 1;
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Truncates to at most `max` bytes on a character boundary.
fn truncate_chars(s: &mut String, max: usize) {
    if s.len() > max {
        let mut i = max;
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        s.truncate(i);
    }
}

#[cfg(test)]
mod markdown_tests {
    #[test]
    fn links_mentions_and_formatting_are_defused_and_length_is_capped() {
        let e = super::markdown_escape("@everyone [x](https://evil.example) **b** 12:55", 200);
        assert_eq!(e, "\\@everyone \\[x\\](https\\://evil.example) \\*\\*b\\*\\* 12:55");
        let long = super::markdown_escape(&"*".repeat(500), 100);
        assert!(
            long.chars().count() <= 100 && long.ends_with('…'),
            "{}",
            long.chars().count()
        );
        assert_eq!(super::markdown_escape("abc", 3), "abc", "no cut when it fits");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suspicious() -> Hit {
        let (parts, _) = http::Request::builder().uri("/v1/users").body(()).unwrap().into_parts();
        let facts = crate::domain::hit::RequestFacts::capture(&parts, "203.0.113.9");
        Hit::suspicious(
            &facts,
            Timestamp::parse("2026-11-28T12:00:00.000Z").unwrap(),
            vec!["cookies".into(), "body".into()],
            Via::Decoy,
        )
    }

    /// A suspicious request says what it is in every text and never that a
    /// token was used; a hit past the bounds says what was skipped.
    #[test]
    fn a_suspicious_request_reads_as_one_everywhere() {
        let h = suspicious();
        let a = Alert::for_hit(&h);
        assert_eq!(a.severity, super::super::Severity::Low);
        assert_eq!(
            a.summary,
            "suspicious request, no token: cookies, body from 203.0.113.9"
        );
        assert_eq!(
            subject(&a),
            "NOTICE: suspicious request, no token: cookies, body from 203.0.113.9"
        );
        let email = email_text(&a);
        assert!(
            email.contains("Token:        none (suspicious request, no token: cookies, body)"),
            "{email}"
        );
        assert!(email.contains("Flags:        over-bounds(cookies,body)"), "{email}");
        assert!(!email.contains("leaked"), "{email}");
        assert!(slack_text(&a).contains("flags: over-bounds(cookies,body)"));
        let origin = AlarmOrigin::from_topic_arn("arn:aws:sns:us-east-1:123456789012:alerts").unwrap();
        let alarm = cloudwatch_alarm(&a, &origin);
        assert_eq!(
            alarm["AlarmName"],
            "honeytoken suspicious request, no token: cookies, body from 203.0.113.9"
        );
        assert!(
            alarm["AlarmDescription"]
                .as_str()
                .unwrap()
                .starts_with("A request went past"),
            "{}",
            alarm["AlarmDescription"]
        );
        assert!(terminal_line(&a).contains("label=\"suspicious request, no token: cookies, body\""));
        let folded = super::super::Folded {
            last: &h,
            count: 999,
            first_at: h.received_at,
            states: super::super::HitStates::of(&h),
            window_secs: 900,
        };
        let summary = Alert::summary_of(&folded, h.received_at);
        assert_eq!(summary.severity, super::super::Severity::Low);
        assert!(
            summary
                .summary
                .starts_with("999 more suspicious requests (no token: cookies, body) from 203.0.113.9"),
            "{}",
            summary.summary
        );
        let ecs = super::super::ecs::event(&h);
        assert_eq!(ecs["event"]["action"], "honeytoken-suspicious-request");
        assert_eq!(ecs["rule"]["name"], "honeytoken-suspicious-request");
        assert_eq!(ecs["honeytoken"]["over_bounds"], serde_json::json!(["cookies", "body"]));
        assert_eq!(ecs["honeytoken"]["severity"], "low");
        assert!(ecs["tags"].as_array().unwrap().contains(&"over-bounds".into()));
        // A token's hit past the bounds keeps its own texts and adds the flag.
        let mut t = honeytoken_core::testkit::hit_at("tok", "203.0.113.9", 0, 0);
        t.over_bounds = vec!["body".into()];
        let a = Alert::for_hit(&t);
        assert_eq!(a.severity, super::super::Severity::Critical);
        assert!(a.summary.starts_with("honeytoken tok ("), "{}", a.summary);
        assert!(
            terminal_line(&a).contains("flags=over-bounds(body)"),
            "{}",
            terminal_line(&a)
        );
    }

    /// Each flag says whether anything can be lost and where the hit is then.
    #[test]
    fn the_not_yet_stored_flag_says_whether_anything_was_lost() {
        for (note, says) in [
            ("spooled", "nothing lost"),
            ("write-pending", "nothing lost unless the write fails"),
            ("not-stored-see-log", "the full hit is the hit_not_stored line"),
        ] {
            let flag = stored_flag(note);
            assert!(flag.starts_with(&format!("NOT-YET-STORED({note}: ")), "{flag}");
            assert!(flag.contains(says), "{flag}");
        }
        assert_eq!(stored_flag("other"), "NOT-YET-STORED(other)");
    }

    #[test]
    fn a_scanner_verification_alerts_and_says_the_key_leaked() {
        let mut h = Hit::sample("AKIAIOSFODNN7EXAMPLE", "203.0.113.7", "2026-11-28T12:00:00.000Z");
        h.user_agent = "TruffleHog".into();
        h.scanner = Some("TruffleHog".into());
        assert!(h.alerts());
        let a = Alert::for_hit(&h);
        let said = "a secret scanner (TruffleHog) verified the key: it has leaked";
        assert!(a.summary.ends_with(said), "{}", a.summary);
        assert!(email_text(&a).contains(&format!("Scanner:      {said}")));
        assert!(slack_text(&a).contains(said));
        assert!(
            terminal_line(&a).contains("scanner(TruffleHog)"),
            "{}",
            terminal_line(&a)
        );
        let ecs = super::super::ecs::event(&h);
        assert_eq!(ecs["honeytoken"]["scanner"], "TruffleHog");
        assert!(ecs["tags"].as_array().unwrap().contains(&"secret-scanner".into()));
        // Without the label, none of it.
        h.scanner = None;
        let a = Alert::for_hit(&h);
        assert!(!a.summary.contains("secret scanner"));
        assert!(!terminal_line(&a).contains("scanner("));
    }

    #[test]
    fn an_aws_key_alert_names_the_api_call() {
        let mut h = Hit::sample("AKIAIOSFODNN7EXAMPLE", "AWS Internal", "2026-11-28T12:00:00.000Z");
        h.found_in = crate::domain::hit::FoundIn::AwsApi;
        h.aws_event = Some(crate::domain::hit::AwsEvent {
            name: "GetCallerIdentity".into(),
            source: "sts.amazonaws.com".into(),
            region: "eu-west-1".into(),
            error_code: Some("AccessDenied".into()),
        });
        let a = Alert::for_hit(&h);
        let call = "GetCallerIdentity on sts.amazonaws.com in eu-west-1, AccessDenied";
        assert!(a.summary.contains(call), "{}", a.summary);
        assert!(a.summary.contains("from AWS Internal"), "{}", a.summary);
        let email = email_text(&a);
        assert!(email.contains(&format!("Request:      {call}")), "{email}");
        assert!(email.contains("Found in:     aws-api"), "{email}");
        assert!(slack_text(&a).contains(call));
        assert!(terminal_line(&a).contains(call));
    }

    #[test]
    fn an_exposure_notice_says_aws_reports_the_key_public() {
        let mut h = Hit::sample("AKIAIOSFODNN7EXAMPLE", "AWS Internal", "2026-11-28T12:00:00.000Z");
        h.label = "deploy bot".into();
        h.found_in = FoundIn::AwsExposureNotice;
        h.aws_event = Some(crate::domain::hit::AwsEvent {
            name: "AttachUserPolicy".into(),
            source: "iam.amazonaws.com".into(),
            region: "us-east-1".into(),
            error_code: None,
        });
        let a = Alert::for_hit(&h);
        assert_eq!(
            a.summary,
            "honeytoken AKIAIOSFODNN7EXAMPLE (deploy bot): AWS reports this key exposed in public: it \
             attached its AWSCompromisedKeyQuarantine policy to the key's user (AttachUserPolicy on \
             iam.amazonaws.com in us-east-1)"
        );
        // Not an attacker's use "from" AWS's own address.
        assert!(!a.summary.contains("from AWS Internal"), "{}", a.summary);
        assert_eq!(
            subject(&a),
            "ALARM: AWS reports honeytoken deploy bot exposed in public"
        );
        let email = email_text(&a);
        assert!(email.starts_with(&a.summary), "{email}");
        assert!(email.contains("Found in:     aws-exposure-notice"), "{email}");
        assert!(slack_text(&a).contains(AWS_EXPOSURE_TEXT));
        assert!(terminal_line(&a).contains("found_in=aws-exposure-notice"));
        // An ordinary use of the same key still reads as one.
        h.found_in = FoundIn::AwsApi;
        assert!(!Alert::for_hit(&h).summary.contains(AWS_EXPOSURE_TEXT));
    }

    #[test]
    fn a_guard_hit_says_which_service_it_was_used_against() {
        let mut h = Hit::sample("tok1", "203.0.113.9", "2026-11-28T12:00:00.000Z");
        let decoy = Alert::for_hit(&h);
        assert!(!decoy.summary.contains("against"), "{}", decoy.summary);
        assert!(email_text(&decoy).contains("Used against: the decoy endpoint"));
        h.via = Via::Guard {
            service: "payments-api".into(),
        };
        let a = Alert::for_hit(&h);
        assert!(
            a.summary.contains("used against payments-api from 203.0.113.9"),
            "{}",
            a.summary
        );
        assert!(email_text(&a).contains("Used against: payments-api"));
        assert!(subject(&a).contains("against payments-api"), "{}", subject(&a));
        assert!(terminal_line(&a).contains("used_against=\"payments-api\""));
        assert!(Alert::summary(&h, 4, 900).summary.ends_with("against payments-api"));
    }

    /// A credential file used with its tool: the alert says which tool
    /// persona answered beside where the file was planted.
    #[test]
    fn a_tool_persona_hit_names_the_tool_beside_the_planted_file() {
        let mut h = Hit::sample("tok1", "203.0.113.9", "2026-11-28T12:00:00.000Z");
        h.location = "ci runner ~/.docker/config.json (docker-config)".into();
        h.persona = Some("registry".into());
        let a = Alert::for_hit(&h);
        assert!(
            a.summary
                .contains("used against the decoy's registry persona from 203.0.113.9"),
            "{}",
            a.summary
        );
        assert!(email_text(&a).contains("Used against: the decoy endpoint, answering as registry"));
        let line = terminal_line(&a);
        assert!(
            line.contains("used_against=\"the decoy endpoint, answering as registry\""),
            "{line}"
        );
        assert!(
            line.contains("location=\"ci runner ~/.docker/config.json (docker-config)\""),
            "{line}"
        );
        let f = facts(&a);
        assert!(f.contains(&("Answered as", "registry".to_string())), "{f:?}");
        assert!(
            f.iter()
                .any(|(k, v)| *k == "Planted at" && v.contains("(docker-config)"))
        );
        assert!(slack_text(&a).contains("registry persona"));
    }
}
