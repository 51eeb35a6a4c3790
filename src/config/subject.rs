//! The NATS subject of a hook: a template of `{event}`, `{repository}` and `{flavor}`
//! whose filled-in values become subject tokens of their own.

/// The subject when a NATS hook names none.
pub const DEFAULT: &str = "git.{repository}.{event}";

/// The placeholders a subject may use.
pub const PLACEHOLDERS: [&str; 3] = ["event", "repository", "flavor"];

/// A checked `subject` template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    template: String,
}

/// What a NATS subject cannot hold inside a token (`.` separates tokens, `*` and `>` are
/// wildcards, white space and control characters end the subject) becomes `_`; an empty
/// value becomes `_`, since a subject has no empty tokens.
pub fn token(value: &str) -> String {
    let token: String = value
        .chars()
        .map(|c| match c {
            '.' | '*' | '>' => '_',
            c if c.is_whitespace() || c.is_control() => '_',
            c => c,
        })
        .collect();
    match token.is_empty() {
        true => "_".into(),
        false => token,
    }
}

impl Subject {
    /// Checks a template: known placeholders only, and with them filled in, a subject
    /// one can publish to (no wildcard, no empty token, no white space).
    pub fn new(template: &str) -> Result<Subject, String> {
        let mut rest = template;
        let mut sample = String::new();
        while let Some(start) = rest.find('{') {
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| format!("\"{template}\" has a {{ without its }}"))?
                + start;
            let name = &rest[start + 1..end];
            if !PLACEHOLDERS.contains(&name) {
                let known: Vec<String> = PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect();
                return Err(format!("unknown placeholder {{{name}}}; use {}", known.join(", ")));
            }
            sample.push_str(&rest[..start]);
            sample.push('x');
            rest = &rest[end + 1..];
        }
        sample.push_str(rest);
        if sample.contains('}') {
            return Err(format!("\"{template}\" has a }} without its {{"));
        }
        if sample.split('.').any(str::is_empty) {
            return Err(format!(
                "\"{template}\" has an empty token (a leading, trailing or double dot)"
            ));
        }
        if sample.contains(['*', '>']) {
            return Err(format!(
                "\"{template}\" holds a wildcard (* or >), which cannot be published to"
            ));
        }
        if sample.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("\"{template}\" holds white space or a control character"));
        }
        Ok(Subject {
            template: template.to_string(),
        })
    }

    /// The template as written (for `check`).
    pub fn template(&self) -> &str {
        &self.template
    }

    /// The same template with `{repository}` filled in (done once the repository's name
    /// is known).
    pub fn for_repository(&self, name: &str) -> Subject {
        Subject {
            template: self.template.replace("{repository}", &token(name)),
        }
    }

    /// The subject of one delivery.
    pub fn render(&self, event: &str, flavor: &str) -> String {
        self.template
            .replace("{event}", &token(event))
            .replace("{flavor}", &token(flavor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_single_tokens() {
        let subject = Subject::new(DEFAULT).unwrap().for_repository("my.repo *>\tx");
        assert_eq!(subject.render("tag_push", "gitlab"), "git.my_repo____x.tag_push");
        assert_eq!(token(""), "_");
        assert_eq!(token("team/project-ü"), "team/project-ü");
        let flavoured = Subject::new("hooks.{flavor}.{event}").unwrap();
        assert_eq!(flavoured.render("push", "atomgit"), "hooks.atomgit.push");
    }

    #[test]
    fn templates_that_cannot_be_published_to_are_refused() {
        for bad in [
            "git.{repo}",
            "git..{event}",
            ".git",
            "git.>",
            "git.*.x",
            "a b",
            "git.{event",
            "git}",
        ] {
            assert!(Subject::new(bad).is_err(), "{bad}");
        }
        assert!(Subject::new("events").is_ok());
    }
}
