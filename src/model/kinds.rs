//! How serious a finding is, and what kind of principal something is: the types every stage
//! names the same way (one spelling in the lake, in rules and in reports).

use serde::Deserialize;

/// How serious a finding is; ordered from least to most.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of directory object a principal is. Graph and ARM spell it `User`,
/// `#microsoft.graph.servicePrincipal`, `ServicePrincipal`, `servicePrincipal`…; the lake,
/// the rules and the reports spell it one way: [`PrincipalType::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalType {
    User,
    ServicePrincipal,
    Group,
    Device,
    Contact,
}

impl PrincipalType {
    /// `user`, `service_principal`, `group`, `device`, `contact`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ServicePrincipal => "service_principal",
            Self::Group => "group",
            Self::Device => "device",
            Self::Contact => "contact",
        }
    }

    /// Reads any spelling the sources use: `User`, `#microsoft.graph.servicePrincipal`,
    /// `ServicePrincipal`, `service_principal`, `orgContact`, … (`ManagedIdentity` and
    /// `Application` principals are service principals).
    pub fn parse(text: &str) -> Option<Self> {
        let name = text
            .trim()
            .trim_start_matches('#')
            .trim_start_matches("microsoft.graph.")
            .replace(['_', ' ', '-'], "")
            .to_ascii_lowercase();
        Some(match name.as_str() {
            "user" => Self::User,
            "serviceprincipal" | "managedidentity" | "application" => Self::ServicePrincipal,
            "group" => Self::Group,
            "device" => Self::Device,
            "contact" | "orgcontact" => Self::Contact,
            _ => return None,
        })
    }
}

impl std::fmt::Display for PrincipalType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_principal_type_is_one_type() {
        for spelling in [
            "servicePrincipal",
            "ServicePrincipal",
            "#microsoft.graph.servicePrincipal",
            "service_principal",
        ] {
            assert_eq!(
                PrincipalType::parse(spelling),
                Some(PrincipalType::ServicePrincipal),
                "{spelling}"
            );
        }
        for t in [
            PrincipalType::User,
            PrincipalType::ServicePrincipal,
            PrincipalType::Group,
            PrincipalType::Device,
            PrincipalType::Contact,
        ] {
            assert_eq!(PrincipalType::parse(t.as_str()), Some(t));
        }
        assert_eq!(PrincipalType::parse("printer"), None);
    }
}
