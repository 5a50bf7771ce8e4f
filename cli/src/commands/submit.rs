//! `ariza submit`: publishes one creation request through the same code the bot uses. Bad input
//! is refused before anything is published, with a message in the chosen language and a non-zero
//! exit.

use ariza_shared::config::Settings;
use ariza_shared::domain::{
    ApplicationId, ApplicationKind, ClientData, ClientRef, CorrelationId, CreationRequest, CreationSource, Creator, Form,
    Locale, Role, SCHEMA_VERSION,
};
use ariza_shared::errors::UserError as _;
use ariza_workers::broker::{self, Publisher};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// connection or technical
    #[arg(long)]
    pub kind: ApplicationKind,
    /// staff (created for a client by a staff member) or client (a client's own)
    #[arg(long, default_value = "staff")]
    pub source: CreationSource,
    /// The creator's Telegram user id (the staff member's, or the client's own).
    #[arg(long)]
    pub creator: i64,
    /// The role the creator acts in; the pipeline checks it against the staff table.
    /// Defaults to `client` for --source client.
    #[arg(long)]
    pub role: Option<Role>,
    /// An existing client's id.
    #[arg(long, conflicts_with_all = ["client_name", "client_phone", "client_address"])]
    pub client_id: Option<i64>,
    /// A new client's full name.
    #[arg(long, requires_all = ["client_phone"])]
    pub client_name: Option<String>,
    /// A new client's phone, as people type it (+998 90 123 45 67).
    #[arg(long)]
    pub client_phone: Option<String>,
    /// A new client's address (defaults to the application's address).
    #[arg(long)]
    pub client_address: Option<String>,
    /// Where the work is.
    #[arg(long)]
    pub address: String,
    #[arg(long)]
    pub tariff: Option<String>,
    /// What is wrong (technical requests).
    #[arg(long)]
    pub problem: Option<String>,
    #[arg(long)]
    pub comment: Option<String>,
    /// The language of the error messages.
    #[arg(long, default_value = "uz")]
    pub lang: Locale,
    /// Use this application id (for scripts that need to know it in advance).
    #[arg(long)]
    pub application_id: Option<ApplicationId>,
}

impl Args {
    /// The request these arguments describe.
    pub fn request(&self) -> Result<CreationRequest, String> {
        let role = match (self.role, self.source) {
            (Some(role), _) => role,
            (None, CreationSource::Client) => Role::Client,
            (None, CreationSource::Staff) => return Err("--role is required for --source staff".into()),
        };
        let client = match (&self.client_id, &self.client_name) {
            (Some(id), _) => ClientRef::Existing { client_id: *id, update: None },
            (None, Some(name)) => ClientRef::New(ClientData {
                name: name.clone(),
                phone: self.client_phone.clone().unwrap_or_default(),
                address: self.client_address.clone().unwrap_or_else(|| self.address.clone()),
                language: (self.source == CreationSource::Client).then_some(self.lang),
            }),
            (None, None) => return Err("give --client-id, or --client-name with --client-phone".into()),
        };
        Ok(CreationRequest {
            schema: SCHEMA_VERSION,
            application_id: self.application_id.unwrap_or_default(),
            correlation_id: CorrelationId::new(),
            kind: self.kind,
            source: self.source,
            creator: Creator { telegram_id: self.creator, role },
            client,
            form: Form {
                address: self.address.clone(),
                tariff: self.tariff.clone(),
                problem: self.problem.clone(),
                comment: self.comment.clone(),
            },
            submitted_at: chrono::Utc::now(),
        })
    }
}

pub async fn run(args: Args, settings: &Settings) -> anyhow::Result<ExitCode> {
    let req = match args.request() {
        Ok(req) => req,
        Err(e) => {
            eprintln!("ariza: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if let Err(e) = ariza_shared::validation::precheck(&req) {
        let text = ariza_shared::i18n::render(args.lang, &e.message_key(), &e.message_args());
        eprintln!("ariza: {text}\n       ({e}); nothing was published");
        return Ok(ExitCode::from(2));
    }
    let conn = broker::connect(&settings.amqp, "submit").await?;
    let channel = conn.create_channel().await?;
    broker::declare(&channel, &settings.topology()).await?;
    let publisher = Publisher::open(&conn).await?;
    ariza_workers::submit::publish_creation(&publisher, &settings.topology(), &req).await?;
    conn.close(200, "done".into()).await.ok();
    println!("{}", req.application_id);
    Ok(ExitCode::SUCCESS)
}
