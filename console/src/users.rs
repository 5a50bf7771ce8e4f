//! Console users: a name, a role and an argon2id password hash (a PHC string; never the password).

use crate::auth::{Operator, OperatorRole};
use anyhow::Context as _;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use secrecy::{ExposeSecret as _, SecretString};
use sqlx::PgPool;

/// Shortest password `user add` accepts.
pub const MIN_PASSWORD_LEN: usize = 12;

/// A console user as listed (no hash).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ConsoleUser {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub active: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Why a user could not be added.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("a user name is 1 to 64 letters, digits, dots, dashes, underscores or @")]
    BadName,
    #[error("the password must be at least {MIN_PASSWORD_LEN} characters")]
    WeakPassword,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c))
}

/// Hashes a password with argon2id and a random salt. Slow on purpose: run it off the runtime.
pub fn hash_password(password: &SecretString) -> anyhow::Result<String> {
    let hash = Argon2::default()
        .hash_password(password.expose_secret().as_bytes())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches a stored PHC string.
pub fn verify_password(password: &SecretString, stored: &str) -> bool {
    PasswordHash::new(stored)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.expose_secret().as_bytes(), &parsed).is_ok())
}

/// Adds a user, or sets the role and password of an existing one (and reactivates it).
pub async fn upsert(pool: &PgPool, name: &str, role: OperatorRole, password: SecretString) -> Result<ConsoleUser, UserError> {
    if !valid_name(name) {
        return Err(UserError::BadName);
    }
    if password.expose_secret().chars().count() < MIN_PASSWORD_LEN {
        return Err(UserError::WeakPassword);
    }
    let hash = tokio::task::spawn_blocking(move || hash_password(&password)).await.context("hashing task")??;
    let user = sqlx::query_as(
        "INSERT INTO console_users (name, role, password_hash) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role, password_hash = EXCLUDED.password_hash, active = TRUE, updated_at = now()
         RETURNING id, name, role, active, created_at",
    )
    .bind(name)
    .bind(role.as_str())
    .bind(hash)
    .fetch_one(pool)
    .await
    .context("storing the console user")?;
    Ok(user)
}

pub async fn list(pool: &PgPool) -> Result<Vec<ConsoleUser>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, role, active, created_at FROM console_users ORDER BY name").fetch_all(pool).await
}

/// Deactivates a user; their sessions stop working at once. False when there is no such user.
pub async fn deactivate(pool: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE console_users SET active = FALSE, updated_at = now() WHERE name = $1").bind(name).execute(pool).await?;
    sqlx::query("DELETE FROM console_sessions s USING console_users u WHERE u.id = s.user_id AND u.name = $1").bind(name).execute(pool).await?;
    Ok(done.rows_affected() > 0)
}

/// Checks a login: the user's id and operator when the name and password match an active user.
/// Unknown names cost as much as wrong passwords, so timing does not tell which names exist.
pub async fn check_login(pool: &PgPool, name: &str, password: SecretString) -> anyhow::Result<Option<(i64, Operator)>> {
    let row: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, role, password_hash FROM console_users WHERE name = $1 AND active")
            .bind(name)
            .fetch_optional(pool)
            .await
            .context("looking the user up")?;
    // A hash of a password nobody has, verified when the name is unknown.
    static DECOY: once_cell::sync::Lazy<String> = once_cell::sync::Lazy::new(|| {
        hash_password(&SecretString::from(uuid::Uuid::new_v4().to_string())).unwrap_or_default()
    });
    let stored = row.as_ref().map_or_else(|| DECOY.clone(), |(_, _, hash)| hash.clone());
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored)).await.context("verifying task")?;
    Ok(match row {
        Some((id, role, _)) if matches => role.parse().ok().map(|role| (id, Operator { name: name.to_owned(), role })),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_and_nothing_else() {
        let password = SecretString::from("correct horse battery");
        let hash = hash_password(&password).expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        assert!(verify_password(&password, &hash));
        assert!(!verify_password(&SecretString::from("wrong horse battery"), &hash));
        assert!(!verify_password(&password, "not a hash"));
    }

    #[test]
    fn user_names_are_plain() {
        assert!(valid_name("dilnoza.k"));
        assert!(valid_name("ops@ariza"));
        assert!(!valid_name(""));
        assert!(!valid_name("with space"));
        assert!(!valid_name("<script>"));
    }
}
