//! SMTP delivery with lettre (tokio, rustls): implicit TLS, STARTTLS, or plain for a
//! relay on the same host or inside the cluster.

use lettre::{
    message::{
        header::{HeaderName, HeaderValue},
        Mailbox, MultiPart,
    },
    transport::smtp::authentication::Credentials,
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use secrecy::ExposeSecret;

use crate::config::{Config, SmtpTls};

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// One e-mail, rendered.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: Mailbox,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The one-click unsubscribe URL (`List-Unsubscribe`, RFC 8058).
    pub unsubscribe_url: String,
}

impl Mailer {
    /// The transport, or `None` when no SMTP host is configured.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Mailer>> {
        let Some(host) = config.smtp_host.as_deref().filter(|h| !h.trim().is_empty()) else { return Ok(None) };
        let builder = match config.smtp_tls {
            SmtpTls::Implicit => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(host)?.port(config.smtp_port.unwrap_or(465))
            }
            SmtpTls::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?.port(config.smtp_port.unwrap_or(587))
            }
            SmtpTls::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(config.smtp_port.unwrap_or(25))
            }
        };
        let mut builder = builder.timeout(Some(config.smtp_timeout));
        let user = config.smtp_username.as_ref().filter(|u| !u.is_empty());
        if let (Some(user), Some(password)) = (user, &config.smtp_password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose_secret().to_owned()));
        }
        let from: Mailbox = config
            .smtp_from
            .parse()
            .map_err(|e| anyhow::anyhow!("smtp_from {:?} is not an address: {e}", config.smtp_from))?;
        Ok(Some(Mailer { transport: builder.build(), from }))
    }

    pub async fn send(&self, email: &Email) -> anyhow::Result<()> {
        let message = self.message(email)?;
        self.transport.send(message).await?;
        Ok(())
    }

    fn message(&self, email: &Email) -> anyhow::Result<Message> {
        let unsubscribe = HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{}>", email.unsubscribe_url),
        );
        let one_click = HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        );
        Ok(Message::builder()
            .from(self.from.clone())
            .to(email.to.clone())
            .subject(email.subject.clone())
            .raw_header(unsubscribe)
            .raw_header(one_click)
            .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))?)
    }
}
