//! Images: an AMI id as written, or the SSM parameter path that holds one.

use orb_plugin_api::ProviderError;

use crate::context::Ctx;
use crate::errors::sdk_error;

/// The AMI `image` names: itself, or the value of the SSM parameter it is the path of.
pub async fn resolve(ctx: &Ctx<'_>, image: &str) -> Result<String, ProviderError> {
    let path = image.strip_prefix("resolve:ssm:").unwrap_or(image);
    if !path.starts_with('/') {
        return Ok(image.to_owned());
    }
    let out = ctx
        .clients
        .ssm
        .get_parameter()
        .name(path)
        .send()
        .await
        .map_err(|e| sdk_error("GetParameter", e))?;
    out.parameter()
        .and_then(|p| p.value())
        .map(str::to_owned)
        .ok_or_else(|| ProviderError::validation(format!("SSM parameter {path} holds no image id")))
}
