//! Where a hook sends: the URL template with its secret placeholders, and the
//! resolved target (URL without credentials, Basic auth, host) it sends to.

use std::collections::BTreeMap;

use crate::config::secret::Secret;

/// Splits `scheme://userinfo@rest`. A password may hold `/`, `?` or `#`, so the userinfo
/// runs to the last `@`: a URL whose path holds an `@` then shows less, never more.
fn split_userinfo(url: &str) -> (Option<&str>, Option<&str>, &str) {
    let (scheme, after) = match url.split_once("://") {
        Some((scheme, after)) => (Some(scheme), after),
        None => (None, url),
    };
    match after.rsplit_once('@') {
        Some((userinfo, rest)) => (scheme, Some(userinfo), rest),
        None => (scheme, None, after),
    }
}

/// A hook's `url` as written, with `{NAME}` placeholders filled from `url_variables`.
pub struct UrlTemplate {
    template: String,
    variables: BTreeMap<String, Secret>,
}

/// A resolved URL, ready for a request.
pub struct Target {
    /// The URL to request: placeholders filled, credentials removed.
    pub url: String,
    host: String,
    /// HTTP Basic credentials taken from the URL's userinfo, percent-decoded.
    pub basic: Option<(String, Secret)>,
    query: Option<Secret>,
    /// True for `https`.
    pub https: bool,
    /// The servers of a `nats://` or `tls://` hook; `None` for HTTP.
    pub nats: Option<NatsServers>,
}

/// The NATS servers a hook publishes to, from `nats://[user:password@]host[:port],…`.
pub struct NatsServers {
    /// `nats://host:port` or `tls://host:port` each, without credentials.
    pub servers: Vec<String>,
    /// True when a server is named with `tls://`.
    pub tls: bool,
    /// The user and password written before the first server, percent-decoded.
    pub user: Option<(String, Secret)>,
}

/// The port NATS servers listen on unless told otherwise.
pub const NATS_PORT: u16 = 4222;

/// Shows only what may be shown: the URL without credentials, query or secrets.
impl std::fmt::Debug for UrlTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UrlTemplate({})", self.display())
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The path may hold filled-in `url_variables`: only the host is shown.
        write!(f, "Target({})", self.host)
    }
}

impl Target {
    /// The host name, used as a hook's default name.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The secret parts of the URL (password, query string) for scrubbing output.
    pub fn secret_values(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.query.iter().map(Secret::expose).collect();
        v.extend(self.basic.iter().map(|(_, p)| p.expose()));
        v.extend(self.nats.iter().flat_map(|n| &n.user).map(|(_, p)| p.expose()));
        v
    }
}

impl UrlTemplate {
    /// Pairs a template with the variables it may use.
    pub fn new(template: String, variables: BTreeMap<String, Secret>) -> UrlTemplate {
        UrlTemplate { template, variables }
    }

    /// The URL as it may be shown: no userinfo, no query, no fragment, placeholders unfilled.
    pub fn display(&self) -> String {
        Self::display_of(&self.template)
    }

    /// Like [`UrlTemplate::display`] for any URL-like text.
    pub fn display_of(url: &str) -> String {
        let (scheme, userinfo, rest) = split_userinfo(url);
        let rest = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
        match scheme {
            Some(scheme) => format!("{scheme}://{rest}"),
            None if userinfo.is_some() => "[a url with credentials]".into(),
            None => rest.to_string(),
        }
    }

    fn placeholders(&self) -> Vec<&str> {
        let mut names = Vec::new();
        let mut rest = self.template.as_str();
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else { break };
            names.push(&rest[start + 1..start + len]);
            rest = &rest[start + len + 1..];
        }
        names
    }

    /// Variables that no placeholder uses.
    pub fn unused_variables(&self) -> Vec<String> {
        let used = self.placeholders();
        self.variables
            .keys()
            .filter(|k| !used.contains(&k.as_str()))
            .cloned()
            .collect()
    }

    /// The variables' values.
    pub fn secret_values(&self) -> Vec<&str> {
        self.variables.values().map(Secret::expose).collect()
    }

    /// True when the template carries userinfo.
    pub fn has_credentials(&self) -> bool {
        self.userinfo().is_some()
    }

    /// True when the URL carries a password written out in the file (not a `{NAME}`
    /// placeholder filled from `url_variables`).
    pub fn has_literal_password(&self) -> bool {
        let password = self.userinfo().and_then(|u| u.split_once(':')).map(|(_, p)| p);
        let placeholder = |p: &str| p.starts_with('{') && p.ends_with('}');
        password.is_some_and(|p| !p.is_empty() && !placeholder(p))
    }

    fn userinfo(&self) -> Option<&str> {
        split_userinfo(&self.template).1
    }

    /// Fills the placeholders and splits off the credentials.
    pub fn resolve(&self) -> Result<Target, String> {
        let mut filled = self.template.clone();
        for name in self.placeholders() {
            let value = self
                .variables
                .get(name)
                .ok_or_else(|| format!("the url uses {{{name}}} but url_variables has no {name}"))?;
            filled = filled.replace(&format!("{{{name}}}"), value.expose());
        }
        let shown = self.display();
        if let Some(scheme @ ("nats" | "tls")) = filled.split_once("://").map(|(s, _)| s) {
            return nats_target(scheme, &filled, &shown);
        }
        let mut url = url::Url::parse(&filled).map_err(|e| format!("\"{shown}\" is not a valid URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "\"{shown}\" must start with http://, https://, nats:// or tls://"
            ));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("\"{shown}\" has no host"))?;
        let host = host.to_string();
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let basic = (!url.username().is_empty() || url.password().is_some()).then(|| {
            (
                decode(url.username()),
                Secret::new(decode(url.password().unwrap_or(""))),
            )
        });
        let query = url.query().filter(|q| !q.is_empty()).map(Secret::new);
        url.set_username("")
            .map_err(|_| format!("\"{shown}\" cannot carry credentials"))?;
        url.set_password(None)
            .map_err(|_| format!("\"{shown}\" cannot carry credentials"))?;
        let https = url.scheme() == "https";
        Ok(Target {
            url: url.to_string(),
            host,
            basic,
            query,
            https,
            nats: None,
        })
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// `scheme://[user:password@]host[:port],host[:port],…` (each later server may name its own
/// `nats://` or `tls://`): the credentials come once, before the first server, so that a
/// password may hold any character once percent-encoded. Errors show `shown` only.
fn nats_target(scheme: &str, filled: &str, shown: &str) -> Result<Target, String> {
    let (_, userinfo, rest) = split_userinfo(filled);
    if userinfo.is_some_and(|u| u.contains(',')) {
        return Err(format!(
            "\"{shown}\": write the user and password once, before the first server (a comma in them as %2C)"
        ));
    }
    let mut servers = Vec::new();
    let mut tls = false;
    let mut first_host = None;
    for entry in rest.split(',').map(str::trim) {
        let full = match entry.contains("://") {
            true => entry.to_string(),
            false => format!("{scheme}://{entry}"),
        };
        let url = url::Url::parse(&full)
            .map_err(|e| format!("\"{shown}\": a server is not a valid URL ({e}); separate servers with commas"))?;
        match url.scheme() {
            "nats" => {}
            "tls" => tls = true,
            _ => {
                return Err(format!(
                    "\"{shown}\": each server must be nats://HOST[:PORT] or tls://HOST[:PORT]"
                ))
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "\"{shown}\": write the user and password once, before the first server"
            ));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "\"{shown}\": a NATS server has no path or query; name the subject with `subject`"
            ));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("\"{shown}\" names a server without a host"))?;
        first_host.get_or_insert_with(|| host.trim_matches(['[', ']']).to_string());
        let port = url.port().unwrap_or(NATS_PORT);
        servers.push(format!("{}://{host}:{port}", url.scheme()));
    }
    let user = userinfo.map(|info| match info.split_once(':') {
        Some((user, password)) => (decode(user), Secret::new(decode(password))),
        None => (decode(info), Secret::new("")),
    });
    Ok(Target {
        url: servers.join(","),
        host: first_host.unwrap_or_default(),
        basic: None,
        query: None,
        https: tls,
        nats: Some(NatsServers { servers, tls, user }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(url: &str, vars: &[(&str, &str)]) -> UrlTemplate {
        let vars = vars.iter().map(|(k, v)| (k.to_string(), Secret::new(*v))).collect();
        UrlTemplate::new(url.into(), vars)
    }

    #[test]
    fn credentials_become_basic_auth_percent_decoded() {
        let t = template("http://al%40ice:p%3Ass@host:8080/job?token=abc", &[])
            .resolve()
            .unwrap();
        assert_eq!(t.url, "http://host:8080/job?token=abc");
        let (user, pass) = t.basic.as_ref().unwrap();
        assert_eq!((user.as_str(), pass.expose()), ("al@ice", "p:ss"));
        assert_eq!(t.secret_values(), vec!["token=abc", "p:ss"]);
    }

    #[test]
    fn passwords_with_slashes_or_hashes_are_never_shown() {
        for url in [
            "https://bob:se/cret@h.example/x",
            "https://bob:pa#ss@h.example/x",
            "https://bob:p?w@h.example/",
        ] {
            let shown = UrlTemplate::display_of(url);
            assert!(shown.starts_with("https://h.example/"), "{shown}");
            let error = template(url, &[]).resolve().err().unwrap_or_default();
            assert!(
                !error.contains("bob") && !error.contains("cret") && !error.contains("pa"),
                "{error}"
            );
        }
        assert_eq!(UrlTemplate::display_of("u:pw@host/x"), "[a url with credentials]");
        let t = template("https://u:pw@h.example/{T}?q=1", &[("T", "tok")]);
        let debug = format!("{t:?} {:?}", t.resolve().unwrap());
        assert!(
            !debug.contains("pw") && !debug.contains("tok") && !debug.contains("q=1"),
            "{debug}"
        );
    }

    #[test]
    fn display_drops_userinfo_query_and_fragment() {
        let shown = UrlTemplate::display_of("https://u:p@h.example/a/{T}?q=1#f");
        assert_eq!(shown, "https://h.example/a/{T}");
    }

    #[test]
    fn placeholders_are_filled_from_variables() {
        let t = template("https://chat.example/hooks/{TOKEN}", &[("TOKEN", "s3cr3t")]);
        assert_eq!(t.resolve().unwrap().url, "https://chat.example/hooks/s3cr3t");
        assert!(template("https://x/{NOPE}", &[])
            .resolve()
            .unwrap_err()
            .contains("NOPE"));
    }

    #[test]
    fn a_placeholder_password_is_not_a_literal_one() {
        assert!(template("http://u:pw@h/", &[]).has_literal_password());
        assert!(!template("http://u:{PW}@h/", &[("PW", "x")]).has_literal_password());
        assert!(!template("http://u@h/", &[]).has_literal_password());
        assert!(template("http://u@h/", &[]).has_credentials());
    }

    #[test]
    fn nats_urls_name_a_cluster_with_credentials_once() {
        let t = template("nats://bob:p%2Cw@a.example,b.example:4333,tls://c.example", &[])
            .resolve()
            .unwrap();
        let nats = t.nats.as_ref().unwrap();
        assert_eq!(
            nats.servers,
            ["nats://a.example:4222", "nats://b.example:4333", "tls://c.example:4222"]
        );
        assert!(nats.tls && t.basic.is_none());
        let (user, password) = nats.user.as_ref().unwrap();
        assert_eq!((user.as_str(), password.expose()), ("bob", "p,w"));
        assert_eq!((t.host(), t.secret_values()), ("a.example", vec!["p,w"]));
        assert_eq!(
            UrlTemplate::display_of("nats://bob:pw@a.example,b.example"),
            "nats://a.example,b.example"
        );
    }

    #[test]
    fn nats_urls_without_a_host_or_with_a_path_are_refused() {
        for url in [
            "nats://",
            "nats://a.example,",
            "nats://a.example/subject",
            "nats://a.example,http://b.example",
            "nats://a.example,u:pw@b.example",
        ] {
            let error = template(url, &[]).resolve().err().unwrap_or_default();
            assert!(!error.is_empty() && !error.contains("pw"), "{url}: {error}");
        }
    }

    #[test]
    fn only_http_urls_with_hosts_are_accepted() {
        assert!(template("ftp://x/", &[]).resolve().is_err());
        assert!(template("not a url", &[]).resolve().is_err());
    }
}
