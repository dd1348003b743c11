//! Postgres: one pool per process, and migrations per owning schema.
//!
//! Each service owns one schema and runs its own `sqlx::migrate!` set; the
//! migration bookkeeping table lives inside that schema (search_path), so
//! services never see each other's migrations. sqlx takes an advisory lock
//! while migrating, so several pods may run `hearth migrate` at once.

use std::str::FromStr;

use sqlx::{
    Executor, PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::config::DatabaseConfig;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database.url: {0}")]
    Url(sqlx::Error),
    #[error("cannot reach Postgres at {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("migrating schema {schema}: {source}")]
    Migrate { schema: String, source: sqlx::migrate::MigrateError },
    #[error("preparing schema {schema}: {source}")]
    Schema { schema: String, source: sqlx::Error },
}

fn options(config: &DatabaseConfig) -> Result<PgConnectOptions, DbError> {
    PgConnectOptions::from_str(config.url.expose()).map(|o| o.application_name("hearth")).map_err(DbError::Url)
}

/// Opens the pool lazily: the process starts even while Postgres is down and
/// requests fail fast with UNAVAILABLE until it is back.
pub fn connect_lazy(config: &DatabaseConfig) -> Result<PgPool, DbError> {
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        .connect_lazy_with(options(config)?))
}

/// Runs one schema's migrations, creating the schema first.
pub async fn migrate(config: &DatabaseConfig, schema: &str, migrator: &Migrator) -> Result<(), DbError> {
    let options = options(config)?.options([("search_path", schema)]);
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(config.acquire_timeout)
        .connect_with(options)
        .await
        .map_err(|source| DbError::Connect { url: config.url.redacted(), source })?;
    // Concurrent CREATE SCHEMA IF NOT EXISTS can still race on the catalog:
    // tolerate the loser's unique violation.
    let create = format!("CREATE SCHEMA IF NOT EXISTS \"{}\"", schema.replace('"', ""));
    let created = pool.execute(sqlx::AssertSqlSafe(create)).await;
    if let Err(source) = created
        && crate::error::db_code(&source) != tonic::Code::AlreadyExists
    {
        return Err(DbError::Schema { schema: schema.to_owned(), source });
    }
    migrator.run(&pool).await.map_err(|source| DbError::Migrate { schema: schema.to_owned(), source })?;
    pool.close().await;
    Ok(())
}

/// Whether Postgres answers, for readiness.
pub async fn ping(pool: &PgPool) -> bool {
    sqlx::query("SELECT 1").execute(pool).await.is_ok()
}

/// Creates the configured database when it does not exist yet (a fresh
/// machine, a test). Needs a role allowed to CREATE DATABASE.
pub async fn ensure_database(config: &DatabaseConfig) -> Result<(), DbError> {
    use sqlx::ConnectOptions;
    let options = options(config)?;
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let connect_error = |source| DbError::Connect { url: config.url.redacted(), source };
    let mut admin = options.clone().database("postgres").connect().await.map_err(connect_error)?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .map_err(connect_error)?;
    if !exists {
        let create = format!("CREATE DATABASE \"{}\"", name.replace('"', ""));
        let created = sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(&mut admin).await;
        if let Err(source) = created
            && crate::error::db_code(&source) != tonic::Code::AlreadyExists
        {
            return Err(DbError::Schema { schema: name, source });
        }
    }
    Ok(())
}
