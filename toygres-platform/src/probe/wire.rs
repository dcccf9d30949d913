//! A login over verified TLS and one query of one row, spoken directly: PostgreSQL's
//! frontend/backend protocol 3.0 (`SSLRequest`, startup, SCRAM-SHA-256, a simple query),
//! just what a probe needs.
//!
//! Why not sqlx, like every other connection here: its TLS backend in this process is
//! native-tls (duroxide-pg turns it on, and it wins over rustls), which builds a new OpenSSL
//! context for every connection and loads the system's CA bundle into it: 35–55 ms of CPU,
//! most of a create's final login and of every health check. Here the rustls
//! configuration, whose only root is the control plane's CA, is built once per CA
//! ([`TrustedCa`]) and shared. Everything the server sends is bounded: a message of at
//! most [`MAX_MESSAGE`] bytes, the SCRAM iterations capped (`scram::Client`): the server
//! may be under a hostile tenant's control.

use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::certificates::TrustedCa;
use crate::scram;

/// `SSLRequest`'s code.
const SSL_REQUEST: i32 = 80_877_103;
/// Protocol 3.0.
const PROTOCOL: i32 = 196_608;
/// The largest message a probe reads.
const MAX_MESSAGE: usize = 1 << 20;

/// What to log in as.
pub struct Login<'a> {
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub password: &'a str,
    pub database: &'a str,
}

/// Logs in over TLS verified against `ca` (the certificate must name `host`) and runs
/// `sql`, whose columns must be text; its last row (`None` for a `NULL`), bounded by
/// `timeout`.
pub async fn query_row(
    login: &Login<'_>,
    ca: &TrustedCa,
    sql: &str,
    timeout: Duration,
) -> Result<Vec<Option<String>>, String> {
    match tokio::time::timeout(timeout, exchange(login, ca, sql)).await {
        Ok(result) => result,
        Err(_) => Err(format!("timed out after {}s", timeout.as_secs())),
    }
}

async fn exchange(
    login: &Login<'_>,
    ca: &TrustedCa,
    sql: &str,
) -> Result<Vec<Option<String>>, String> {
    let mut tcp = TcpStream::connect((login.host, login.port))
        .await
        .map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut request = Vec::with_capacity(8);
    request.extend_from_slice(&8i32.to_be_bytes());
    request.extend_from_slice(&SSL_REQUEST.to_be_bytes());
    tcp.write_all(&request).await.map_err(|e| e.to_string())?;
    if tcp.read_u8().await.map_err(|e| e.to_string())? != b'S' {
        return Err("the server does not speak TLS".into());
    }
    let name = ServerName::try_from(login.host.to_string()).map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(ca.client_config())
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let mut connection = Connection { stream: tls };
    connection.start(login).await?;
    let row = connection.query_row(sql).await?;
    connection.send(Some(b'X'), &[]).await.ok();
    row.ok_or_else(|| format!("{sql:?} returned no row"))
}

struct Connection<S> {
    stream: S,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    async fn send(&mut self, tag: Option<u8>, body: &[u8]) -> Result<(), String> {
        let mut message = Vec::with_capacity(body.len() + 5);
        message.extend(tag);
        message.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
        message.extend_from_slice(body);
        self.stream
            .write_all(&message)
            .await
            .map_err(|e| e.to_string())
    }

    async fn receive(&mut self) -> Result<(u8, Vec<u8>), String> {
        let tag = self.stream.read_u8().await.map_err(|e| e.to_string())?;
        let length = self.stream.read_i32().await.map_err(|e| e.to_string())?;
        let length = usize::try_from(length - 4)
            .ok()
            .filter(|length| *length <= MAX_MESSAGE)
            .ok_or_else(|| format!("a message of {length} bytes"))?;
        let mut body = vec![0; length];
        self.stream
            .read_exact(&mut body)
            .await
            .map_err(|e| e.to_string())?;
        match tag {
            b'E' => Err(error_message(&body)),
            _ => Ok((tag, body)),
        }
    }

    /// Startup and authentication, until the server is ready for a query.
    async fn start(&mut self, login: &Login<'_>) -> Result<(), String> {
        let mut body = PROTOCOL.to_be_bytes().to_vec();
        for (key, value) in [
            ("user", login.user),
            ("database", login.database),
            ("application_name", "toygres-probe"),
        ] {
            body.extend_from_slice(key.as_bytes());
            body.push(0);
            body.extend_from_slice(value.as_bytes());
            body.push(0);
        }
        body.push(0);
        self.send(None, &body).await?;
        loop {
            let (tag, body) = self.receive().await?;
            match (tag, code(&body)) {
                (b'R', Some(0)) => {}
                (b'R', Some(10)) => self.scram(login.password, &body[4..]).await?,
                (b'R', Some(3)) => {
                    let mut password = login.password.as_bytes().to_vec();
                    password.push(0);
                    self.send(Some(b'p'), &password).await?;
                }
                (b'R', other) => return Err(format!("unsupported authentication {other:?}")),
                (b'Z', _) => return Ok(()),
                // Parameter status, backend key data, notices.
                _ => {}
            }
        }
    }

    async fn scram(&mut self, password: &str, mechanisms: &[u8]) -> Result<(), String> {
        const MECHANISM: &str = "SCRAM-SHA-256";
        if !mechanisms
            .split(|byte| *byte == 0)
            .any(|name| name == MECHANISM.as_bytes())
        {
            return Err("the server offers no SCRAM-SHA-256".into());
        }
        let mut client = scram::Client::new(password);
        let first = client.client_first();
        let mut body = MECHANISM.as_bytes().to_vec();
        body.push(0);
        body.extend_from_slice(&(first.len() as i32).to_be_bytes());
        body.extend_from_slice(first.as_bytes());
        self.send(Some(b'p'), &body).await?;
        let server_first = self.authentication(11).await?;
        let last = client.client_final(&server_first)?;
        self.send(Some(b'p'), last.as_bytes()).await?;
        let server_final = self.authentication(12).await?;
        client.verify_server_final(&server_final)
    }

    /// The text of the next authentication message, which must carry `expected`.
    async fn authentication(&mut self, expected: i32) -> Result<String, String> {
        let (tag, body) = self.receive().await?;
        match (tag, code(&body)) {
            (b'R', Some(found)) if found == expected => {
                Ok(String::from_utf8_lossy(&body[4..]).to_string())
            }
            other => Err(format!(
                "unexpected message during SCRAM: {:?}",
                other.0 as char
            )),
        }
    }

    /// Runs `sql` and returns its last row.
    async fn query_row(&mut self, sql: &str) -> Result<Option<Vec<Option<String>>>, String> {
        let mut body = sql.as_bytes().to_vec();
        body.push(0);
        self.send(Some(b'Q'), &body).await?;
        let mut row = None;
        loop {
            let (tag, body) = self.receive().await?;
            match tag {
                b'D' => row = Some(columns(&body).ok_or("a malformed data row")?),
                b'Z' => return Ok(row),
                _ => {}
            }
        }
    }
}

/// The authentication code an `R` message starts with.
fn code(body: &[u8]) -> Option<i32> {
    Some(i32::from_be_bytes(body.get(..4)?.try_into().ok()?))
}

/// The columns of a `DataRow` (a count, then each value's length, `-1` for `NULL`, and
/// its bytes); `None` when the message is cut short.
fn columns(body: &[u8]) -> Option<Vec<Option<String>>> {
    let count = i16::from_be_bytes(body.get(..2)?.try_into().ok()?);
    let mut at = 2;
    let mut values = Vec::with_capacity(usize::try_from(count).ok()?);
    for _ in 0..count {
        let length = i32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?);
        at += 4;
        match usize::try_from(length) {
            Ok(length) => {
                let value = body.get(at..at + length)?;
                values.push(Some(String::from_utf8_lossy(value).to_string()));
                at += length;
            }
            Err(_) => values.push(None),
        }
    }
    Some(values)
}

/// The `M` (message) field of an `ErrorResponse`, with its severity.
fn error_message(body: &[u8]) -> String {
    let fields: Vec<(u8, String)> = body
        .split(|byte| *byte == 0)
        .filter(|field| !field.is_empty())
        .map(|field| (field[0], String::from_utf8_lossy(&field[1..]).to_string()))
        .collect();
    let field = |key: u8| {
        fields
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    };
    match (field(b'S'), field(b'M')) {
        (Some(severity), Some(message)) => format!("{severity}: {message}"),
        (_, Some(message)) => message,
        _ => "the server refused".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_server_sends() {
        let row = [0, 2, 0, 0, 0, 1, b'1', 255, 255, 255, 255];
        assert_eq!(columns(&row), Some(vec![Some("1".into()), None]));
        assert_eq!(columns(&[0, 1, 0, 0, 0, 9, b'1']), None, "cut short");
        assert_eq!(columns(&[0, 2, 0, 0, 0, 1, b'1']), None, "a column missing");
        let error = b"SFATAL\0C28P01\0Mpassword authentication failed for user \"app\"\0\0";
        assert_eq!(
            error_message(error),
            "FATAL: password authentication failed for user \"app\""
        );
    }
}
