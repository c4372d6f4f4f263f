//! Templates: listed with their attributes, shown, validated.

use super::*;

#[utoipa::path(get, path = "/api/v1/templates/", tag = "templates", security(("bearer" = [])),
    responses((status = 200, description = "The templates, with their attributes", body = TemplatesAnswer)))]
pub(super) async fn list_templates(State(s): State<AppState>) -> ApiResult {
    let broker = s.broker();
    let (templates, instance) = broker.templates_with_attributes().await?;
    let list: Vec<TemplateView> = templates
        .iter()
        .map(|(t, a)| TemplateView::of(t, a.clone(), &instance.provider_type))
        .collect();
    Ok(Json(output::templates(list)).into_response())
}
#[utoipa::path(get, path = "/api/v1/templates/{id}", tag = "templates", security(("bearer" = [])),
    params(("id" = String, Path, description = "Template id")),
    responses((status = 200, description = "The template", body = TemplateView), (status = 404, description = "No such template", body = ErrorBody)))]
pub(super) async fn show_template(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let broker = s.broker();
    let (templates, instance) = broker.templates_with_attributes().await?;
    let (t, a) = templates
        .iter()
        .find(|(t, _)| t.template_id == id)
        .ok_or_else(|| ApiError::not_found(format!("template '{id}' does not exist")))?;
    Ok(Json(TemplateView::of(t, a.clone(), &instance.provider_type)).into_response())
}

/// Every problem of the template in the body, or of the stored template it names
/// (`{"templateId": ...}` alone).
#[utoipa::path(post, path = "/api/v1/templates/validate", tag = "templates", security(("bearer" = [])),
    request_body(content = Object, description = "A template, or `{\"templateId\": ...}` naming a stored one"),
    responses((status = 200, description = "Every problem, at once", body = TemplateProblems)))]
pub(super) async fn validate_template(
    State(s): State<AppState>,
    Json(body): Json<Value>,
) -> ApiResult {
    let only_id = body.as_object().is_some_and(|o| o.len() == 1);
    let template: orb_plugin_api::Template =
        match (only_id, body.get("templateId").or(body.get("template_id"))) {
            (true, Some(Value::String(id))) => s.broker().template(id).await?.0,
            _ => serde_json::from_value(body).map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "BadInput",
                    format!("not a template: {e}"),
                )
            })?,
        };
    let problems = s.broker().validate_template(&template).await?;
    Ok(Json(TemplateProblems::of(&template.template_id, problems)).into_response())
}
