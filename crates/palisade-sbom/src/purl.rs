//! Package URLs (https://github.com/package-url/purl-spec) for each ecosystem.

use crate::package::{Distro, Ecosystem, Package, purl_encode};

/// Splits a leading `epoch:` off a deb or rpm version.
pub fn split_epoch(version: &str) -> (Option<&str>, &str) {
    match version.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
            (Some(e), rest)
        }
        _ => (None, version),
    }
}

/// PEP 503 normalised name, which the purl spec asks for PyPI.
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_sep {
                out.push('-');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

fn path_segments(s: &str) -> String {
    s.split('/').map(purl_encode).collect::<Vec<_>>().join("/")
}

/// The package URL of a package; OS packages use the distribution for namespace and the
/// `distro` qualifier. Qualifiers are sorted by key, as the spec requires.
pub fn purl(p: &Package, distro: Option<&Distro>) -> String {
    let mut qualifiers: Vec<(&str, String)> = Vec::new();
    let (namespace, name, version) = match p.ecosystem {
        Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm => {
            let ns = distro
                .map(|d| d.id.clone())
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| match p.ecosystem {
                    Ecosystem::Deb => "debian".into(),
                    Ecosystem::Apk => "alpine".into(),
                    _ => "redhat".into(),
                });
            if let Some(arch) = &p.arch {
                qualifiers.push(("arch", arch.clone()));
            }
            if let Some(d) = distro
                && !d.version_id.is_empty()
            {
                qualifiers.push(("distro", format!("{}-{}", d.id, d.version_id)));
            }
            let (epoch, version) = match p.ecosystem {
                Ecosystem::Apk => (None, p.version.as_str()),
                _ => split_epoch(&p.version),
            };
            if let Some(e) = epoch {
                qualifiers.push(("epoch", e.to_string()));
            }
            if let Some(src) = &p.source
                && src.name != p.name
            {
                qualifiers.push(("upstream", src.name.clone()));
            }
            (Some(ns), p.name.clone(), version.to_string())
        }
        Ecosystem::PyPI => (None, pep503(&p.name), p.version.clone()),
        Ecosystem::Npm => match p.name.strip_prefix('@').and_then(|n| n.split_once('/')) {
            Some((scope, name)) => (
                Some(format!("@{scope}")),
                name.to_string(),
                p.version.clone(),
            ),
            None => (None, p.name.clone(), p.version.clone()),
        },
        Ecosystem::Go => match p.name.rsplit_once('/') {
            Some((ns, name)) => (Some(ns.to_string()), name.to_string(), p.version.clone()),
            None => (None, p.name.clone(), p.version.clone()),
        },
        Ecosystem::Maven => match p.name.split_once(':') {
            Some((group, artifact)) => (
                Some(group.to_string()),
                artifact.to_string(),
                p.version.clone(),
            ),
            None => (None, p.name.clone(), p.version.clone()),
        },
        Ecosystem::Packagist => match p.name.split_once('/') {
            Some((vendor, name)) => (
                Some(vendor.to_string()),
                name.to_string(),
                p.version.clone(),
            ),
            None => (None, p.name.clone(), p.version.clone()),
        },
        Ecosystem::CratesIo | Ecosystem::RubyGems | Ecosystem::NuGet => {
            (None, p.name.clone(), p.version.clone())
        }
    };
    let mut s = format!("pkg:{}/", p.ecosystem.purl_type());
    if let Some(ns) = namespace {
        s.push_str(&path_segments(&ns));
        s.push('/');
    }
    s.push_str(&purl_encode(&name));
    if !version.is_empty() {
        s.push('@');
        s.push_str(&purl_encode(&version));
    }
    qualifiers.sort_by(|a, b| a.0.cmp(b.0));
    for (i, (k, v)) in qualifiers.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(k);
        s.push('=');
        s.push_str(&purl_encode(v));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::SourcePackage;

    fn pkg(e: Ecosystem, name: &str, version: &str) -> Package {
        Package::new(e, name, version, "x", "test")
    }

    #[test]
    fn purls_per_ecosystem() {
        let debian = Distro {
            id: "debian".into(),
            version_id: "12".into(),
            ..Distro::default()
        };
        let mut libssl = pkg(Ecosystem::Deb, "libssl3", "3.0.11-1~deb12u2");
        libssl.arch = Some("amd64".into());
        libssl.source = Some(SourcePackage {
            name: "openssl".into(),
            version: None,
        });
        assert_eq!(
            purl(&libssl, Some(&debian)),
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"
        );
        let perl = pkg(Ecosystem::Deb, "perl-base", "1:5.36.0-7");
        assert_eq!(
            purl(&perl, Some(&debian)),
            "pkg:deb/debian/perl-base@5.36.0-7?distro=debian-12&epoch=1"
        );
        assert_eq!(
            purl(&pkg(Ecosystem::PyPI, "Jinja2", "2.11.2"), None),
            "pkg:pypi/jinja2@2.11.2"
        );
        assert_eq!(
            purl(&pkg(Ecosystem::PyPI, "zope.interface", "5"), None),
            "pkg:pypi/zope-interface@5"
        );
        assert_eq!(
            purl(&pkg(Ecosystem::Npm, "@babel/core", "7.0.0"), None),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(
            purl(&pkg(Ecosystem::Go, "golang.org/x/net", "v0.1.0"), None),
            "pkg:golang/golang.org/x/net@v0.1.0"
        );
        assert_eq!(
            purl(&pkg(Ecosystem::Go, "stdlib", "1.19.8"), None),
            "pkg:golang/stdlib@1.19.8"
        );
        assert_eq!(
            purl(
                &pkg(
                    Ecosystem::Maven,
                    "org.apache.logging.log4j:log4j-core",
                    "2.14.1"
                ),
                None
            ),
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        );
        assert_eq!(
            purl(&pkg(Ecosystem::CratesIo, "regex", "1.5.4"), None),
            "pkg:cargo/regex@1.5.4"
        );
        assert_eq!(
            purl(
                &pkg(Ecosystem::Packagist, "symfony/console", "v6.4.0"),
                None
            ),
            "pkg:composer/symfony/console@v6.4.0"
        );
        let mut curl = pkg(Ecosystem::Rpm, "curl", "1:8.2.1-3.fc39");
        curl.arch = Some("x86_64".into());
        let fedora = Distro {
            id: "fedora".into(),
            version_id: "39".into(),
            ..Distro::default()
        };
        assert_eq!(
            purl(&curl, Some(&fedora)),
            "pkg:rpm/fedora/curl@8.2.1-3.fc39?arch=x86_64&distro=fedora-39&epoch=1"
        );
    }
}
