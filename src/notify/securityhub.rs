//! AWS Security Hub: each alert imported as an AWS Security Finding Format
//! (ASFF) finding into the account's default product with
//! `BatchImportFindings`.
//!
//! * One finding per episode: a (token, source) pair's throttle window,
//!   from the hit that alerted at once to the summary of the rest. Its `Id`
//!   is the alert's dedup key and the episode's start, so a hit that alerts
//!   within the window for a worse state (tampered, retired, orphan) opens
//!   a finding of its own. A window's summary updates the finding (its
//!   `LastObservedAt`, the request count in `ProductFields`: ASFF has no
//!   count field); `FirstObservedAt` and `CreatedAt` are the episode's start
//!   on every import. The next hit after the window opens a new finding:
//!   Security Hub moves a finding's workflow back to NEW only when its
//!   record state goes from ARCHIVED to ACTIVE, and no longer updates a
//!   SUPPRESSED one (API reference, `Workflow.Status`), so a repeat use
//!   after an analyst resolved or suppressed the last one would otherwise
//!   stay invisible. `CreatedAt` is "when the potential security issue or
//!   event captured by a finding was created" (ASFF required attributes):
//!   the episode's first hit, not the import.
//! * Severity as the alert has it (critical, high; test hits are not
//!   imported unless asked). It is given both as `Severity` (required by
//!   ASFF) and `FindingProviderFields.Severity`: the API reference says
//!   finding providers update severity and types through
//!   `FindingProviderFields`, so an analyst's own changes are kept.
//! * The source address as network data (`Network`, and
//!   `Action.NetworkConnectionAction.RemoteIpDetails` with country, city,
//!   coordinates and AS when known); token, label and planted location as
//!   a resource and product fields; `honeytoken hits --token ID` as the
//!   remediation.
//! * The caller must be the finding's `AwsAccountId` when importing into
//!   the default product (`product/ACCOUNT/default`), so account, region
//!   and partition come from the alert topic's ARN: no extra permission.

use async_trait::async_trait;
use aws_sdk_securityhub::types::{
    Action, ActionRemoteIpDetails, AwsSecurityFinding, City, Country, FindingProviderFields, FindingProviderSeverity,
    GeoLocation, IpOrganizationDetails, Network, NetworkConnectionAction, NetworkDirection, Recommendation,
    RecordState, Remediation, Resource, ResourceDetails, Severity, SeverityLabel,
};

use super::Notifier;
use crate::domain::alert::{self, Alert, render};
use crate::error::{Error, Result};

/// Where findings go: an account's default product in a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
    /// Region of the hub.
    pub region: String,
    /// The account importing (and owning) the findings.
    pub account: String,
}

impl Product {
    /// Partition, region and account of any ARN of the account (the alert
    /// topic's): `arn:PARTITION:SERVICE:REGION:ACCOUNT:…`.
    pub fn from_arn(arn: &str) -> Result<Product> {
        let p: Vec<&str> = arn.splitn(6, ':').collect();
        match p.as_slice() {
            ["arn", partition, _, region, account, _]
                if !partition.is_empty()
                    && !region.is_empty()
                    && account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Ok(Product {
                    partition: partition.to_string(),
                    region: region.to_string(),
                    account: account.to_string(),
                })
            }
            _ => Err(Error::Config(format!(
                "cannot tell the account and region from the ARN {arn:?} (Security Hub findings)"
            ))),
        }
    }

    /// `arn:PARTITION:securityhub:REGION:ACCOUNT:product/ACCOUNT/default`.
    pub fn arn(&self) -> String {
        format!(
            "arn:{}:securityhub:{}:{}:product/{}/default",
            self.partition, self.region, self.account, self.account
        )
    }
}

/// Imports alerts into Security Hub.
pub struct SecurityHub {
    client: aws_sdk_securityhub::Client,
    product: Product,
    include_tests: bool,
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut c: String = s.chars().take(max.saturating_sub(1)).collect();
    c.push('…');
    c
}

/// ASFF timestamps: RFC 3339 (the hits' own format is one).
fn ts(t: &crate::domain::time::Timestamp) -> String {
    t.to_string()
}

impl SecurityHub {
    /// Imports into `product` through `client`.
    pub fn new(client: aws_sdk_securityhub::Client, product: Product) -> Self {
        SecurityHub {
            client,
            product,
            include_tests: false,
        }
    }

    /// Imports test hits too (off by default: a test must not open a finding).
    pub fn with_tests(mut self, include: bool) -> Self {
        self.include_tests = include;
        self
    }

    /// The finding's id for an alert: one per episode (see the module doc).
    pub fn finding_id(a: &Alert) -> String {
        format!("{}/{}", a.dedup_key, a.episode_start())
    }

    /// The finding of an alert, as of `now`.
    pub fn finding(&self, a: &Alert, now: &crate::domain::time::Timestamp) -> AwsSecurityFinding {
        let h = &a.hit;
        let (label, original) = match a.severity {
            alert::Severity::Critical => (SeverityLabel::Critical, "critical"),
            alert::Severity::High => (SeverityLabel::High, "high"),
            alert::Severity::Low => (SeverityLabel::Low, "low"),
            alert::Severity::Info => (SeverityLabel::Informational, "info"),
        };
        let requests = a.episode_requests();
        let start = ts(&a.episode_start());
        let addr = h.source_addr();
        let mut remote = ActionRemoteIpDetails::builder();
        if let Some(ip @ std::net::IpAddr::V4(_)) = addr {
            remote = remote.ip_address_v4(ip.to_string());
        }
        if let Some(g) = &h.geo {
            remote = remote.country(
                Country::builder()
                    .set_country_code(g.country_code.clone())
                    .set_country_name(g.country.clone())
                    .build(),
            );
            if let Some(c) = &g.city {
                remote = remote.city(City::builder().city_name(c).build());
            }
            if let (Some(lat), Some(lon)) = (g.latitude, g.longitude) {
                remote = remote.geo_location(GeoLocation::builder().lat(lat).lon(lon).build());
            }
        }
        if let Some(asn) = &h.asn {
            remote = remote.organization(
                IpOrganizationDetails::builder()
                    .asn(i32::try_from(asn.number).unwrap_or(i32::MAX))
                    .set_asn_org(asn.org.clone())
                    .build(),
            );
        }
        let mut network = Network::builder().direction(NetworkDirection::In);
        network = match addr {
            Some(ip @ std::net::IpAddr::V4(_)) => network.source_ipv4(ip.to_string()),
            Some(ip @ std::net::IpAddr::V6(_)) => network.source_ipv6(ip.to_string()),
            None => network,
        };
        let location = if h.location.is_empty() {
            "(not recorded)".to_string()
        } else {
            h.location.clone()
        };
        let resource = Resource::builder()
            .r#type("Other")
            .id(format!("honeytoken:{}", h.token_id))
            .partition(match self.product.partition.as_str() {
                "aws-cn" => aws_sdk_securityhub::types::Partition::AwsCn,
                "aws-us-gov" => aws_sdk_securityhub::types::Partition::AwsUsGov,
                _ => aws_sdk_securityhub::types::Partition::Aws,
            })
            .region(&self.product.region)
            .details(
                ResourceDetails::builder()
                    .other("token_id", &h.token_id)
                    .other("label", cut(&render::label_or_orphan(h), 1024))
                    .other("location", cut(&location, 1024))
                    .other("found_in", cut(&h.found_in.to_string(), 1024))
                    .build(),
            )
            .build();
        let hits_command = render::hits_command(a);
        let finding = AwsSecurityFinding::builder()
            .schema_version("2018-10-08")
            .id(Self::finding_id(a))
            .product_arn(self.product.arn())
            .generator_id("honeytoken")
            .aws_account_id(&self.product.account)
            .types("TTPs/Credential Access/Unsecured Credentials")
            .types("Effects/Data Exposure")
            .first_observed_at(&start)
            .last_observed_at(ts(&h.received_at))
            .created_at(&start)
            .updated_at(ts(now))
            .severity(Severity::builder().label(label.clone()).original(original).build())
            .finding_provider_fields(
                FindingProviderFields::builder()
                    .severity(FindingProviderSeverity::builder().label(label).original(original).build())
                    .types("TTPs/Credential Access/Unsecured Credentials")
                    .types("Effects/Data Exposure")
                    .build(),
            )
            .title(cut(
                &if h.is_suspicious() {
                    format!("Honeytoken: {} from {}", render::suspicious_text(h), h.source_ip)
                } else {
                    format!("Honeytoken {} used from {}", render::label_or_orphan(h), h.source_ip)
                },
                256,
            ))
            .description(cut(
                &format!(
                    "{}. {} {} with user agent {}.",
                    a.summary,
                    if h.is_suspicious() {
                        "A request went past what the decoy inspects and carried no decoy credential where it looked: one may hide in the parts not read.".to_string()
                    } else {
                        format!("A decoy credential planted at {location} was used: whoever sent it read that place.")
                    },
                    render::request_text(h),
                    h.user_agent
                ),
                1024,
            ))
            .remediation(
                Remediation::builder()
                    .recommendation(
                        Recommendation::builder()
                            .text(cut(
                                &if h.is_suspicious() {
                                    format!(
                                        "Check the source against your own (CI, load tests) and look for its other requests. All suspicious requests: {hits_command}"
                                    )
                                } else {
                                    format!(
                                        "Treat {location} as leaked: find who could read it and how it got out; rotate real credentials stored beside it. All hits of this token: {hits_command}"
                                    )
                                },
                                512,
                            ))
                            .build(),
                    )
                    .build(),
            )
            .network(network.build())
            .action(
                Action::builder()
                    .action_type("NETWORK_CONNECTION")
                    .network_connection_action(
                        NetworkConnectionAction::builder()
                            .connection_direction("INBOUND")
                            .remote_ip_details(remote.build())
                            .protocol("TCP")
                            .blocked(true)
                            .build(),
                    )
                    .build(),
            )
            .resources(resource)
            .product_fields("honeytoken/token_id", &h.token_id)
            .product_fields("honeytoken/label", cut(&h.label, 1024))
            .product_fields("honeytoken/location", cut(&h.location, 1024))
            .product_fields("honeytoken/source_ip", &h.source_ip)
            .product_fields("honeytoken/last_hit_id", &h.hit_id)
            .product_fields("honeytoken/last_seen", ts(&h.received_at))
            .product_fields("honeytoken/episode_start", &start)
            .product_fields("honeytoken/requests", requests.to_string())
            .product_fields(
                "honeytoken/alert_kind",
                if a.suppressed.is_some() { "summary" } else { "hit" },
            )
            .product_fields("honeytoken/user_agent", cut(&h.user_agent, 1024))
            .product_fields("honeytoken/hits_command", hits_command)
            .record_state(RecordState::Active);
        // A secret scanner's verification: the key has leaked where
        // scanners look (the summary in the description says so too).
        match &h.scanner {
            Some(s) => finding.product_fields("honeytoken/scanner", cut(s, 1024)).build(),
            None => finding.build(),
        }
    }
}

#[async_trait]
impl Notifier for SecurityHub {
    fn name(&self) -> &str {
        "securityhub"
    }

    async fn notify(&self, a: &Alert) -> Result<()> {
        if a.hit.test && !self.include_tests {
            return Ok(());
        }
        let f = self.finding(a, &crate::domain::time::Timestamp::now());
        let out = self
            .client
            .batch_import_findings()
            .findings(f)
            .send()
            .await
            .map_err(|e| Error::Notify {
                channel: "securityhub".into(),
                message: format!(
                    "{}; check that Security Hub is enabled in {} and the role may call securityhub:BatchImportFindings on {}",
                    aws_sdk_securityhub::error::DisplayErrorContext(&e),
                    self.product.region,
                    self.product.arn()
                ),
            })?;
        if out.failed_count().unwrap_or(0) > 0 {
            let why: Vec<String> = out
                .failed_findings()
                .iter()
                .map(|f| format!("{}: {}", f.error_code().unwrap_or("?"), f.error_message().unwrap_or("")))
                .collect();
            return Err(Error::Notify {
                channel: "securityhub".into(),
                message: format!("finding not imported: {}", why.join("; ")),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hit::Hit;

    fn hub() -> SecurityHub {
        let conf = aws_sdk_securityhub::Config::builder()
            .behavior_version(aws_sdk_securityhub::config::BehaviorVersion::latest())
            .region(aws_sdk_securityhub::config::Region::new("us-east-1"))
            .build();
        SecurityHub::new(
            aws_sdk_securityhub::Client::from_conf(conf),
            Product::from_arn("arn:aws:sns:us-east-1:123456789012:alerts").unwrap(),
        )
    }

    /// A suspicious request is a low finding that says what it is, never
    /// a decoy credential "used".
    #[test]
    fn a_suspicious_request_is_a_low_finding_naming_what_was_skipped() {
        let (parts, _) = http::Request::builder().uri("/v1/users").body(()).unwrap().into_parts();
        let facts = crate::domain::hit::RequestFacts::capture(&parts, "203.0.113.9");
        let h = Hit::suspicious(
            &facts,
            crate::domain::time::Timestamp::now(),
            vec!["cookies".into()],
            crate::domain::hit::Via::Decoy,
        );
        let f = hub().finding(&Alert::for_hit(&h), &crate::domain::time::Timestamp::now());
        let sev = f.severity().unwrap();
        assert_eq!(sev.label(), Some(&SeverityLabel::Low));
        assert_eq!(sev.original(), Some("low"));
        assert_eq!(
            f.title(),
            Some("Honeytoken: suspicious request, no token: cookies from 203.0.113.9")
        );
        assert!(!f.description().unwrap().contains("was used"), "{:?}", f.description());
    }

    #[test]
    fn a_finding_fits_a_test_threads_stack() {
        let a = Alert::for_hit(&honeytoken_core::testkit::hit_at("tok", "203.0.113.9", 0, 0));
        let f = hub().finding(&a, &crate::domain::time::Timestamp::now());
        assert_eq!(
            f.id(),
            Some(format!("honeytoken/tok/203.0.113.9/{}", a.hit.received_at).as_str())
        );
        assert_eq!(f.network().and_then(|n| n.source_ipv4()), Some("203.0.113.9"));
    }

    /// One finding per episode: the immediate alert and the summary of its
    /// window share an id and the episode's start as `FirstObservedAt` and
    /// `CreatedAt`; the summary moves `LastObservedAt` and the request count.
    /// The next window, or a tampered hit, is another finding.
    #[test]
    fn one_finding_per_episode() {
        use crate::domain::alert::Episode;
        use honeytoken_core::testkit::hit_at;
        let hub = hub();
        let now = crate::domain::time::Timestamp::now();
        let pf = |f: &AwsSecurityFinding, k: &str| f.product_fields().and_then(|p| p.get(k)).cloned();
        let first = hit_at("tok", "203.0.113.9", 0, 0);
        let last = hit_at("tok", "203.0.113.9", 600, 5);
        let opened = hub.finding(&Alert::for_hit(&first), &now);
        let summary = Alert::summary(&last, 5, 900).with_episode(Episode {
            start: first.received_at,
            requests: 6,
        });
        let closed = hub.finding(&summary, &now);
        let start = first.received_at.to_string();
        assert_eq!(opened.id(), closed.id());
        assert_eq!(
            opened.id(),
            Some(format!("honeytoken/tok/203.0.113.9/{start}").as_str())
        );
        for f in [&opened, &closed] {
            assert_eq!(f.first_observed_at(), Some(start.as_str()));
            assert_eq!(f.created_at(), Some(start.as_str()));
        }
        assert_eq!(opened.last_observed_at(), Some(start.as_str()));
        assert_eq!(closed.last_observed_at(), Some(last.received_at.to_string().as_str()));
        assert_eq!(pf(&opened, "honeytoken/requests").as_deref(), Some("1"));
        assert_eq!(pf(&closed, "honeytoken/requests").as_deref(), Some("6"));
        assert_eq!(pf(&closed, "honeytoken/episode_start"), Some(start.clone()));

        let next = hit_at("tok", "203.0.113.9", 1800, 6);
        let again = hub.finding(&Alert::for_hit(&next), &now);
        assert_ne!(again.id(), opened.id(), "a repeat after the window is a new finding");
        assert_eq!(again.created_at(), Some(next.received_at.to_string().as_str()));

        // A tampered hit alerting within the window is an episode of its own.
        let edited = Hit {
            tampered: true,
            ..hit_at("tok", "203.0.113.9", 60, 7)
        };
        let f = hub.finding(&Alert::for_hit(&edited), &now);
        assert_ne!(f.id(), opened.id());
        assert_eq!(f.created_at(), Some(edited.received_at.to_string().as_str()));
    }

    /// The hit's one parsed address fills the IP fields: a dual-stack
    /// peer is the IPv4 address it is; text that is no address fills none.
    #[test]
    fn the_address_fields_take_the_canonical_address() {
        let finding = |ip: &str| {
            let a = Alert::for_hit(&honeytoken_core::testkit::hit_at("tok", ip, 0, 0));
            hub().finding(&a, &crate::domain::time::Timestamp::now())
        };
        let f = finding("::ffff:203.0.113.9");
        assert_eq!(f.network().and_then(|n| n.source_ipv4()), Some("203.0.113.9"));
        assert_eq!(f.network().and_then(|n| n.source_ipv6()), None);
        let remote = f
            .action()
            .and_then(|a| a.network_connection_action())
            .and_then(|n| n.remote_ip_details());
        assert_eq!(remote.and_then(|r| r.ip_address_v4()), Some("203.0.113.9"));
        let f = finding("2001:db8::9");
        assert_eq!(f.network().and_then(|n| n.source_ipv6()), Some("2001:db8::9"));
        assert_eq!(f.network().and_then(|n| n.source_ipv4()), None);
        let f = finding("not-an-address");
        assert_eq!(f.network().and_then(|n| n.source_ipv4()), None);
        assert_eq!(f.network().and_then(|n| n.source_ipv6()), None);
    }

    #[test]
    fn the_default_product_of_the_topics_account() {
        let p = Product::from_arn("arn:aws:sns:eu-west-1:123456789012:alerts").unwrap();
        assert_eq!(
            p.arn(),
            "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"
        );
        let p = Product::from_arn("arn:aws-us-gov:sns:us-gov-west-1:210987654321:t").unwrap();
        assert_eq!(p.partition, "aws-us-gov");
        assert!(Product::from_arn("not-an-arn").is_err());
        assert!(Product::from_arn("arn:aws:sns:eu-west-1:12:alerts").is_err());
    }
}
