//! AWS Security Hub: each alert imported as an AWS Security Finding Format
//! (ASFF) finding into the account's default product with
//! `BatchImportFindings`.
//!
//! * One finding per (token, source): its `Id` is the alert's dedup key, so
//!   a repeat or a window's summary updates the same finding (last seen,
//!   requests, severity) instead of adding one per request.
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

    /// The finding's id for an alert: one per (token, source).
    pub fn finding_id(a: &Alert) -> String {
        a.dedup_key.clone()
    }

    /// The finding of an alert, as of `now`.
    pub fn finding(&self, a: &Alert, now: &crate::domain::time::Timestamp) -> AwsSecurityFinding {
        let h = &a.hit;
        let (label, original) = match a.severity {
            alert::Severity::Critical => (SeverityLabel::Critical, "critical"),
            alert::Severity::High => (SeverityLabel::High, "high"),
            alert::Severity::Info => (SeverityLabel::Informational, "info"),
        };
        let requests = a.suppressed.unwrap_or(0) + h.count.max(1);
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
        AwsSecurityFinding::builder()
            .schema_version("2018-10-08")
            .id(Self::finding_id(a))
            .product_arn(self.product.arn())
            .generator_id("honeytoken")
            .aws_account_id(&self.product.account)
            .types("TTPs/Credential Access/Unsecured Credentials")
            .types("Effects/Data Exposure")
            .first_observed_at(ts(&h.received_at))
            .last_observed_at(ts(&h.received_at))
            .created_at(ts(&h.received_at))
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
                &format!(
                    "Honeytoken {} used from {}",
                    render::label_or_orphan(h),
                    h.source_ip
                ),
                256,
            ))
            .description(cut(
                &format!(
                    "{}. A decoy credential planted at {} was used: whoever sent it read that place. {} {}{} with user agent {}.",
                    a.summary,
                    location,
                    h.method,
                    h.path,
                    if h.query.is_empty() { String::new() } else { format!("?{}", h.query) },
                    h.user_agent
                ),
                1024,
            ))
            .remediation(
                Remediation::builder()
                    .recommendation(
                        Recommendation::builder()
                            .text(cut(
                                &format!(
                                    "Treat {location} as leaked: find who could read it and how it got out; rotate real credentials stored beside it. All hits of this token: {hits_command}"
                                ),
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
            .product_fields("honeytoken/requests_in_last_alert", requests.to_string())
            .product_fields(
                "honeytoken/alert_kind",
                if a.suppressed.is_some() { "summary" } else { "hit" },
            )
            .product_fields("honeytoken/user_agent", cut(&h.user_agent, 1024))
            .product_fields("honeytoken/hits_command", hits_command)
            .record_state(RecordState::Active)
            .build()
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

    #[test]
    fn a_finding_fits_a_test_threads_stack() {
        let a = Alert::for_hit(&honeytoken_core::testkit::hit_at("tok", "203.0.113.9", 0, 0));
        let f = hub().finding(&a, &crate::domain::time::Timestamp::now());
        assert_eq!(f.id(), Some("honeytoken/tok/203.0.113.9"));
        assert_eq!(f.network().and_then(|n| n.source_ipv4()), Some("203.0.113.9"));
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
