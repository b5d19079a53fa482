/// A URL fit for messages and logs: any password is replaced by `***`. Text that is not a URL is returned as is,
/// minus anything between `:` and `@` that could be a password.
#[must_use]
pub fn redact_url(text: &str) -> String {
    match ::url::Url::parse(text) {
        Ok(mut parsed) => {
            if parsed.password().is_some() && parsed.set_password(Some("***")).is_err() {
                return "<url>".to_owned();
            }
            parsed.to_string()
        }
        Err(_) => match (text.find("://"), text.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}://***{}", &text[..scheme_end], &text[at..]),
            _ => text.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn hides_password() {
        assert_eq!(
            redact_url("postgres://bob:s3cret@db:5432/app"),
            "postgres://bob:***@db:5432/app"
        );
        assert_eq!(redact_url("postgres://bob@db/app"), "postgres://bob@db/app");
        assert!(!redact_url("postgres://bob:s3cret@[::1:5432/app").contains("s3cret"));
    }
}
