//! `ariza fake-bot-api`: a local stand-in for the Telegram Bot API on 127.0.0.1, printing every
//! message the bot or the workers send. For trying ariza on a machine that cannot reach Telegram:
//! point `ARIZA__TELEGRAM__API_BASE_URL` at it.

use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The port on 127.0.0.1.
    #[arg(long, default_value_t = 8081)]
    pub port: u16,
    /// The bot token it accepts (the same as ARIZA__TELEGRAM__TOKEN).
    #[arg(long, env = "ARIZA__TELEGRAM__TOKEN", hide_env_values = true)]
    pub token: String,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let fake = ariza_fake_bot_api::FakeBotApi::start_on(&args.token, args.port)?;
    println!("fake Telegram Bot API listening on {}; messages sent through it appear below", fake.base_url());
    let mut shown = 0;
    loop {
        tokio::select! {
            () = super::shutdown_signal() => return Ok(ExitCode::SUCCESS),
            sent = fake.wait_for_messages(shown + 1, Duration::from_secs(3600)) => {
                if let Ok(sent) = sent {
                    for message in &sent[shown..] {
                        println!("--> chat {}: {}", message.chat_id, message.text);
                    }
                    shown = sent.len();
                }
            }
        }
    }
}
