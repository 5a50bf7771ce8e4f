//! A RabbitMQ cluster of extra nodes on this machine, for the scale-out test: each node a separate
//! Erlang node (`ariza-c<N>-<run>@localhost`) with its own ports, data and log directories under
//! one temporary directory, and a cookie of its own, so it touches neither the shared broker nor a
//! concurrent run. Dropping the [`Cluster`] stops every node and removes the directory, also when
//! the test fails (then the nodes' logs are printed first).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A program of the RabbitMQ installation: Debian's `/usr/lib/rabbitmq/bin/` (the `/usr/sbin`
/// wrappers switch to the `rabbitmq` user and its cookie), or whatever `PATH` has.
fn rabbitmq_program(name: &str) -> PathBuf {
    let debian = Path::new("/usr/lib/rabbitmq/bin").join(name);
    if debian.exists() { debian } else { PathBuf::from(name) }
}

/// Whether this machine can run RabbitMQ nodes.
pub fn available() -> bool {
    Command::new(rabbitmq_program("rabbitmqctl")).arg("version").output().is_ok_and(|o| o.status.success())
}

/// A free TCP port on 127.0.0.1 (free when asked; the node binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

pub struct Node {
    pub name: String,
    pub amqp_port: u16,
    log_dir: PathBuf,
    server: Option<Child>,
}

impl Node {
    pub fn amqp_url(&self, user: &str, password: &str, vhost: &str) -> String {
        format!("amqp://{user}:{password}@127.0.0.1:{}/{vhost}", self.amqp_port)
    }
}

pub struct Cluster {
    dir: PathBuf,
    pub nodes: Vec<Node>,
}

impl Cluster {
    /// Starts `n` nodes, waits until each has booted, and joins the others to the first. The first
    /// node's configuration gets `extra_first_config` appended (to load definitions at boot).
    pub fn start(n: usize, extra_first_config: &str) -> Cluster {
        let run = crate::support::unique();
        let dir = std::env::temp_dir().join(format!("ariza-cluster-{run}"));
        std::fs::create_dir_all(&dir).expect("cluster directory");
        // Erlang insists that only the owner can read the cookie.
        let cookie = dir.join(".erlang.cookie");
        std::fs::write(&cookie, format!("ARIZACLUSTER{}", run.to_uppercase())).expect("cookie");
        set_owner_only(&cookie);
        std::fs::write(dir.join("rabbitmq-env.conf"), "").expect("env file");
        std::fs::write(dir.join("enabled_plugins"), "[].\n").expect("plugins file");

        let mut cluster = Cluster { dir, nodes: Vec::new() };
        for i in 1..=n {
            let node = cluster.spawn_node(&format!("ariza-c{i}-{run}"), if i == 1 { extra_first_config } else { "" });
            cluster.nodes.push(node);
        }
        for node in &cluster.nodes {
            cluster.await_startup(&node.name);
        }
        let first = cluster.nodes[0].name.clone();
        for node in &cluster.nodes[1..] {
            cluster.ctl(&node.name, &["stop_app"]);
            cluster.ctl(&node.name, &["join_cluster", &first]);
            cluster.ctl(&node.name, &["start_app"]);
            cluster.await_startup(&node.name);
        }
        cluster
    }

    /// Waits until a node has booted. `await_startup` fails at once while the node has not yet
    /// registered with epmd, so it is asked again until the node answers.
    fn await_startup(&self, node: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let out = self.ctl_output(node, &["await_startup", "--timeout", "60"], Duration::from_secs(70));
            if out.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{node} did not start: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn spawn_node(&self, name: &str, extra_config: &str) -> Node {
        let node_dir = self.dir.join(name);
        let log_dir = node_dir.join("log");
        std::fs::create_dir_all(&log_dir).expect("node directory");
        let amqp_port = free_port();
        let dist_port = free_port();
        let config = node_dir.join("rabbitmq.conf");
        std::fs::write(
            &config,
            format!("listeners.tcp.1 = 127.0.0.1:{amqp_port}\nlog.console = false\nlog.file.level = info\n{extra_config}\n"),
        )
        .expect("node configuration");
        let server = Command::new(rabbitmq_program("rabbitmq-server"))
            .current_dir(&node_dir)
            .envs(self.node_env(name))
            .env("RABBITMQ_DIST_PORT", dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", node_dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", &log_dir)
            .env("RABBITMQ_CONFIG_FILE", &config)
            .env("RABBITMQ_PID_FILE", node_dir.join("pid"))
            .env("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-kernel inet_dist_use_interface {127,0,0,1}")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rabbitmq-server");
        Node { name: format!("{name}@localhost"), amqp_port, log_dir, server: Some(server) }
    }

    /// What a node and the CLI need to find this cluster: its cookie (in `HOME`), no system-wide
    /// rabbitmq-env.conf, no system-wide plugins.
    fn node_env(&self, name: &str) -> Vec<(String, String)> {
        let dir = self.dir.to_string_lossy().into_owned();
        vec![
            ("HOME".into(), dir.clone()),
            ("RABBITMQ_NODENAME".into(), format!("{name}@localhost")),
            ("RABBITMQ_CONF_ENV_FILE".into(), format!("{dir}/rabbitmq-env.conf")),
            ("RABBITMQ_ENABLED_PLUGINS_FILE".into(), format!("{dir}/enabled_plugins")),
            ("ERL_EPMD_ADDRESS".into(), "127.0.0.1".into()),
        ]
    }

    /// `rabbitmqctl -n NODE ARGS` with this cluster's cookie, up to `timeout`.
    pub fn ctl_output(&self, node: &str, args: &[&str], timeout: Duration) -> Output {
        let short = node.split('@').next().unwrap_or(node);
        let mut child = Command::new(rabbitmq_program("rabbitmqctl"))
            .current_dir(&self.dir)
            .envs(self.node_env(short))
            .arg("-n")
            .arg(node)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run rabbitmqctl");
        let deadline = Instant::now() + timeout;
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        if child.try_wait().ok().flatten().is_none() {
            child.kill().ok();
        }
        child.wait_with_output().expect("rabbitmqctl output")
    }

    /// `rabbitmqctl -n NODE ARGS`, which must succeed within two minutes; its output.
    pub fn ctl(&self, node: &str, args: &[&str]) -> String {
        let out = self.ctl_output(node, args, Duration::from_secs(120));
        crate::support::stdout_of(&format!("rabbitmqctl -n {node} {}", args.join(" ")), &out)
    }

    /// `rabbitmqctl ... --formatter json` parsed.
    pub fn ctl_json(&self, node: &str, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["-q"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--formatter", "json"]);
        let text = self.ctl(node, &all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("rabbitmqctl {args:?}: not JSON ({e}): {text}"))
    }

    /// Stops a node (the whole Erlang node, as `rabbitmqctl stop` does) and reaps its process.
    pub fn stop_node(&mut self, index: usize) {
        let name = self.nodes[index].name.clone();
        self.ctl(&name, &["stop"]);
        if let Some(mut server) = self.nodes[index].server.take() {
            let deadline = Instant::now() + Duration::from_secs(30);
            while server.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            server.kill().ok();
            server.wait().ok();
        }
    }

    fn print_logs(&self) {
        for node in &self.nodes {
            let Ok(entries) = std::fs::read_dir(&node.log_dir) else { continue };
            for entry in entries.flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                eprintln!("---- {} ({}), last lines:", node.name, entry.path().display());
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_logs();
        }
        for i in 0..self.nodes.len() {
            let Some(mut server) = self.nodes[i].server.take() else { continue };
            // A clean stop first (it flushes the node's state); a kill when it does not answer.
            let name = self.nodes[i].name.clone();
            self.ctl_output(&name, &["stop"], Duration::from_secs(30));
            let deadline = Instant::now() + Duration::from_secs(10);
            while server.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            server.kill().ok();
            server.wait().ok();
        }
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

#[cfg(unix)]
fn set_owner_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o400)).expect("cookie permissions");
}

#[cfg(not(unix))]
fn set_owner_only(_path: &Path) {}
