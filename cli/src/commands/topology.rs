//! `ariza topology definitions`: the queue topology the workers declare, as a RabbitMQ definitions
//! file the broker loads (`load_definitions` in rabbitmq.conf, or `rabbitmqctl
//! import_definitions`). It is built from the same [`Topology`] the workers declare at start-up,
//! so the file in `deploy/rabbitmq/` is reviewable and cannot drift (a test compares them).
//!
//! Users and permissions are left out on purpose: a definitions file holds a user's password
//! hash, which is a credential (crackable offline once the file is copied around), and a file that
//! is committed and identical everywhere must not carry one. Operators create the user with
//! `rabbitmqctl add_user` and `set_permissions` (see docs/deployment.md).

use anyhow::Context as _;
use ariza_shared::config::Settings;
use ariza_shared::topology::{ArgValue, Topology};
use secrecy::ExposeSecret as _;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::str::FromStr as _;

#[derive(Debug, clap::Subcommand)]
pub enum TopologyCommand {
    /// Print the RabbitMQ definitions (vhost, exchanges, queues with their arguments, bindings)
    /// of the configured topology as JSON.
    Definitions(DefinitionsArgs),
}

#[derive(Debug, clap::Args)]
pub struct DefinitionsArgs {
    /// Name prefix of every exchange and queue; `amqp.prefix` by default.
    #[arg(long)]
    pub prefix: Option<String>,
    /// The virtual host to define and put everything in; by default the one in `amqp.url`.
    #[arg(long)]
    pub vhost: Option<String>,
}

pub fn run(command: TopologyCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    match command {
        TopologyCommand::Definitions(args) => {
            let mut topology = settings.topology();
            if let Some(prefix) = args.prefix {
                anyhow::ensure!(
                    !prefix.is_empty() && !prefix.contains(char::is_whitespace),
                    "--prefix must be a non-empty name without spaces"
                );
                topology.prefix = prefix;
            }
            let vhost = match args.vhost {
                Some(vhost) => vhost,
                None => url_vhost(settings.amqp.url.expose_secret())?,
            };
            anyhow::ensure!(!vhost.is_empty(), "the vhost must not be empty");
            let text = serde_json::to_string_pretty(&definitions(&topology, &vhost)).context("serialising the definitions")?;
            // Written, not println!'d: `ariza topology definitions | head` must not panic.
            writeln!(std::io::stdout().lock(), "{text}").context("writing the definitions")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The virtual host named in an AMQP URL (`/` when the URL names none).
pub fn url_vhost(url: &str) -> anyhow::Result<String> {
    // The URL holds the password: the parse error is not shown.
    let uri = lapin::uri::AMQPUri::from_str(url).map_err(|_| anyhow::anyhow!("amqp.url is not an AMQP URL"))?;
    Ok(if uri.vhost.is_empty() { "/".to_owned() } else { uri.vhost })
}

fn arg_json(value: &ArgValue) -> Value {
    match value {
        ArgValue::Str(s) => Value::from(s.as_str()),
        ArgValue::Int(i) => Value::from(*i),
        ArgValue::Bool(b) => Value::from(*b),
    }
}

/// A RabbitMQ definitions document, in the order a reviewer reads it: the vhost, no policies (every
/// setting is a queue argument, fixed at declaration and visible here), the exchanges, the queues
/// with their exact arguments, the bindings.
#[derive(Debug, Serialize)]
pub struct Definitions {
    pub vhosts: Vec<VhostDef>,
    pub policies: Vec<Value>,
    pub exchanges: Vec<ExchangeDef>,
    pub queues: Vec<QueueDef>,
    pub bindings: Vec<BindingDef>,
}

#[derive(Debug, Serialize)]
pub struct VhostDef {
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct ExchangeDef {
    pub name: String,
    pub vhost: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub durable: bool,
    pub auto_delete: bool,
    pub internal: bool,
    pub arguments: BTreeMap<String, Value>,
}

#[derive(Debug, Serialize)]
pub struct QueueDef {
    pub name: String,
    pub vhost: String,
    pub durable: bool,
    pub auto_delete: bool,
    pub arguments: BTreeMap<String, Value>,
}

#[derive(Debug, Serialize)]
pub struct BindingDef {
    pub source: String,
    pub vhost: String,
    pub destination: String,
    pub destination_type: String,
    pub routing_key: String,
    pub arguments: BTreeMap<String, Value>,
}

/// The definitions of `topology`, everything in `vhost`.
pub fn definitions(topology: &Topology, vhost: &str) -> Definitions {
    let exchanges = topology
        .exchanges()
        .into_iter()
        .map(|e| ExchangeDef {
            name: e.name,
            vhost: vhost.to_owned(),
            kind: e.kind.to_owned(),
            durable: true,
            auto_delete: false,
            internal: false,
            arguments: BTreeMap::new(),
        })
        .collect();
    let queues = topology.queues();
    let bindings = queues
        .iter()
        .filter_map(|q| {
            let (exchange, key) = q.binding.as_ref()?;
            Some(BindingDef {
                source: exchange.clone(),
                vhost: vhost.to_owned(),
                destination: q.name.clone(),
                destination_type: "queue".to_owned(),
                routing_key: key.clone(),
                arguments: BTreeMap::new(),
            })
        })
        .collect();
    let queues = queues
        .into_iter()
        .map(|q| QueueDef {
            name: q.name,
            vhost: vhost.to_owned(),
            durable: true,
            auto_delete: false,
            arguments: q.args.iter().map(|(k, v)| ((*k).to_owned(), arg_json(v))).collect(),
        })
        .collect();
    Definitions { vhosts: vec![VhostDef { name: vhost.to_owned() }], policies: Vec::new(), exchanges, queues, bindings }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology() -> Topology {
        Topology {
            prefix: "ariza".into(),
            retry_tiers_ms: vec![1000],
            delivery_limit: 20,
            single_active_notification_consumer: true,
        }
    }

    #[test]
    fn every_queue_exchange_and_binding_of_the_topology_is_defined_in_the_vhost() {
        let t = topology();
        let defs = serde_json::to_value(definitions(&t, "ariza")).expect("serialisable");
        let queues = defs["queues"].as_array().expect("queues");
        assert_eq!(queues.len(), t.queues().len());
        assert!(queues.iter().all(|q| q["vhost"] == "ariza" && q["durable"] == true));
        let notification = queues.iter().find(|q| q["name"] == "ariza.notification").expect("notification queue");
        assert_eq!(notification["arguments"]["x-single-active-consumer"], true);
        assert_eq!(notification["arguments"]["x-delivery-limit"], 20);
        assert_eq!(notification["arguments"]["x-queue-type"], "quorum");
        assert_eq!(defs["exchanges"].as_array().expect("exchanges").len(), 2);
        let bindings = defs["bindings"].as_array().expect("bindings");
        assert!(bindings.iter().any(|b| b["source"] == "ariza.dead" && b["destination"] == "ariza.dead-letters"));
        assert!(bindings.iter().any(|b| b["source"] == "ariza.work" && b["routing_key"] == "workflow"));
    }

    #[test]
    fn the_vhost_comes_from_the_amqp_url() {
        assert_eq!(url_vhost("amqp://guest:guest@127.0.0.1:5672/%2f").expect("url"), "/");
        assert_eq!(url_vhost("amqp://ariza:secret@rabbitmq:5672/ariza").expect("url"), "ariza");
        assert_eq!(url_vhost("amqp://rabbitmq").expect("url"), "/");
        assert!(url_vhost("not a url").is_err());
    }
}
