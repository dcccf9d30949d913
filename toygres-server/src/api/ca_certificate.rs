//! `GET /api/v1/ca-certificate`: the CA certificate (public) that signs every instance's
//! server certificate, for clients' `sslrootcert` (`toygres-cli ca-certificate`).

use axum::Json;
use axum::extract::State;
use toygres_domain::ErrorCode;
use toygres_domain::api::CaCertificateView;

use super::{ApiError, AppState};

pub async fn handle(State(app): State<AppState>) -> Result<Json<CaCertificateView>, ApiError> {
    let certificate = app.platform.ca_certificate().ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnsupportedOnPlatform,
            format!(
                "the {} platform has no certificate authority",
                app.platform.kind()
            ),
        )
    })?;
    Ok(Json(CaCertificateView { certificate }))
}
