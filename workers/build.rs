//! `sqlx::migrate!` embeds `../migrations` at compile time, but a stable compiler cannot tell cargo
//! that the macro read that directory: without this, a new migration file leaves a stale
//! `MIGRATOR` in an incremental build.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
