//! Templates: listed with their attributes, shown, validated.

use super::*;

/// The Python ORB's filters of the template listing.
#[derive(Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct TemplateQuery {
    /// Templates served by this provider instance.
    provider_name: Option<String>,
    /// Templates served by instances of this provider type.
    provider_type: Option<String>,
    /// Templates of this handler (`RunInstances`, `EC2Fleet`, any case).
    provider_api: Option<String>,
    /// Templates whose id or name holds this text (any case).
    q: Option<String>,
}

impl TemplateQuery {
    /// Whether the template `t`, served by `instance`, passes every filter given.
    fn admits(&self, t: &orb_plugin_api::Template, instance: &ProviderInstanceConfig) -> bool {
        let holds = |text: Option<&str>, part: &str| {
            text.is_some_and(|t| t.to_lowercase().contains(&part.to_lowercase()))
        };
        self.provider_name
            .as_ref()
            .is_none_or(|n| *n == instance.name)
            && self
                .provider_type
                .as_ref()
                .is_none_or(|n| *n == instance.provider_type)
            && self.provider_api.as_ref().is_none_or(|api| {
                t.provider_api
                    .as_ref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(api))
            })
            && self
                .q
                .as_ref()
                .is_none_or(|q| holds(Some(&t.template_id), q) || holds(t.str_field("name"), q))
    }
}

/// The templates, with their attributes, a page at a time.
#[utoipa::path(get, path = "/api/v1/templates/", tag = "templates", security(("bearer" = [])), params(TemplateQuery, PageQuery, ("filter_expressions" = Option<Vec<String>>, Query, description = "The Python ORB's filter expressions over the listed items' fields (KEY=VALUE, KEY!=VALUE, KEY~TEXT, KEY=~REGEX, KEY!~REGEX), the key repeated; ANDed")),
    responses((status = 200, description = "A page of the templates, with their attributes", body = TemplatesAnswer), (status = 422, description = "A page out of range", body = ErrorBody)))]
pub(super) async fn list_templates(
    State(s): State<AppState>,
    Query(q): Query<TemplateQuery>,
    Query(page): Query<PageQuery>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult {
    let page = page.page()?;
    let broker = s.broker();
    let templates = broker.templates_with_attributes().await?;
    let views: Vec<(TemplateView, Value)> = templates
        .iter()
        .filter(|(t, _, instance)| q.admits(t, instance))
        .map(|(t, a, instance)| {
            let view = TemplateView::of(t, a.clone(), instance);
            let shown = to_json(&view);
            (view, shown)
        })
        .collect();
    // A template's fields are its own: the fields any listed template has.
    let mut fields: Vec<String> = views
        .iter()
        .filter_map(|(_, shown)| shown.as_object())
        .flat_map(|v| v.keys().cloned())
        .collect();
    fields.sort();
    fields.dedup();
    let filters = match views.is_empty() {
        true => Vec::new(),
        false => filters_of(&pairs, &fields)?,
    };
    let matching: Vec<TemplateView> = views
        .into_iter()
        .filter(|(_, shown)| crate::selection::admits(&filters, shown))
        .map(|(view, _)| view)
        .collect();
    let total = matching.len();
    let list: Vec<TemplateView> = matching
        .into_iter()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .collect();
    let info = PageInfo::of(page, list.len(), total as u64);
    let mut answer = output::templates(list);
    answer.total_count = total;
    answer.next_cursor = info.next_cursor;
    Ok(Json(answer).into_response())
}

/// One template, with its attributes.
#[utoipa::path(get, path = "/api/v1/templates/{template_id}", tag = "templates", security(("bearer" = [])),
    params(("template_id" = String, Path, description = "Template id")),
    responses((status = 200, description = "The template", body = TemplateView), (status = 404, description = "No such template", body = ErrorBody)))]
pub(super) async fn show_template(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    Ok(Json(TemplateView::served(&s.broker(), &id).await?).into_response())
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

/// What a template change did: the Python ORB's `TemplateMutationResponse`.
#[derive(Serialize, ToSchema)]
pub(super) struct TemplateChanged {
    /// The template changed.
    template_id: String,
    /// `created`, `updated` or `deleted`.
    status: &'static str,
    /// Always empty: a change with problems is refused (422) and nothing is written.
    validation_errors: Vec<String>,
    /// The templates file written.
    file: String,
}

impl TemplateChanged {
    fn answer(template_id: &str, status: &'static str, file: &std::path::Path) -> ApiResult {
        Ok(Json(TemplateChanged {
            template_id: template_id.to_owned(),
            status,
            validation_errors: Vec::new(),
            file: file.display().to_string(),
        })
        .into_response())
    }
}

/// A template object, from a request body.
fn template_body(body: Value) -> Result<serde_json::Map<String, Value>, ApiError> {
    match body {
        Value::Object(fields) => Ok(fields),
        _ => Err(ApiError::invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            &["body"],
            "the body must be a template object",
        )),
    }
}

/// Adds a template to the templates file (admin), checked first as `validate` checks it. Keys
/// in Host Factory's or the Python ORB's names (`machineType`, `subnet_ids`...), written in
/// Host Factory's.
#[utoipa::path(post, path = "/api/v1/templates/", tag = "templates", security(("bearer" = [])),
    request_body(content = Object, description = "The template, with its templateId"),
    responses((status = 200, description = "Written", body = TemplateChanged), (status = 409, description = "A template of that id exists", body = ErrorBody), (status = 422, description = "Not valid: every problem, nothing written", body = ErrorBody)))]
pub(super) async fn create_template(
    State(s): State<AppState>,
    Json(body): Json<Value>,
) -> ApiResult {
    let fields = template_body(body)?;
    let file = s.broker().add_template(fields.clone()).await?;
    let id = crate::templates::normalize(&fields)
        .get("templateId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    TemplateChanged::answer(&id, "created", &file)
}

/// Changes a template in its file (admin): the keys given replace its own, a key set to null
/// is removed; the result is checked first.
#[utoipa::path(put, path = "/api/v1/templates/{template_id}", tag = "templates", security(("bearer" = [])),
    params(("template_id" = String, Path, description = "Template id")),
    request_body(content = Object, description = "The keys to change"),
    responses((status = 200, description = "Written", body = TemplateChanged), (status = 404, description = "In no templates file", body = ErrorBody), (status = 409, description = "Changed by another writer meanwhile", body = ErrorBody), (status = 422, description = "Not valid: every problem, nothing written", body = ErrorBody)))]
pub(super) async fn update_template(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult {
    let file = s
        .broker()
        .update_template(&id, template_body(body)?)
        .await?;
    TemplateChanged::answer(&id, "updated", &file)
}

/// Removes a template from its file (admin).
#[utoipa::path(delete, path = "/api/v1/templates/{template_id}", tag = "templates", security(("bearer" = [])),
    params(("template_id" = String, Path, description = "Template id")),
    responses((status = 200, description = "Removed", body = TemplateChanged), (status = 404, description = "In no templates file", body = ErrorBody)))]
pub(super) async fn delete_template(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult {
    let file = s.broker().remove_template(&id).await?;
    TemplateChanged::answer(&id, "deleted", &file)
}

/// Reads the templates files again and lists every template. orb reads them on every call, so
/// this is the listing, for the Python ORB's clients that ask for a refresh.
#[utoipa::path(post, path = "/api/v1/templates/refresh", tag = "templates", security(("bearer" = [])),
    responses((status = 200, description = "The templates, as read now", body = TemplatesAnswer)))]
pub(super) async fn refresh_templates(State(s): State<AppState>) -> ApiResult {
    list_templates(
        State(s),
        Query(TemplateQuery::default()),
        Query(PageQuery::everything()),
        Query(Vec::new()),
    )
    .await
}

/// The Python ORB's `GenerateTemplatesBody`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct GenerateBody {
    /// The provider instance: the serving one, when given.
    provider: Option<String>,
    /// Every provider instance: refused when several are enabled, as a server writes the
    /// templates of the instance it serves.
    #[serde(default)]
    all_providers: bool,
    /// Only the examples of this handler (`RunInstances`, `EC2Fleet`, `SpotFleet`, `ASG`).
    provider_api: Option<String>,
    /// The provider type: the serving instance's, when given.
    provider_type: Option<String>,
    /// Accepted: orb's examples always carry their provider's own fields.
    #[serde(default, rename = "provider_specific")]
    _provider_specific: bool,
    /// Replace examples whose ids are in the templates file already.
    #[serde(default)]
    force: bool,
}

/// Writes the serving instance's example templates to the templates file (admin), each
/// checked first: one for each way its provider makes machines, on what its cloud offers.
/// Those whose ids are there already are kept unless `force`.
#[utoipa::path(post, path = "/api/v1/templates/generate", tag = "templates", security(("bearer" = [])),
    request_body = GenerateBody,
    responses((status = 200, description = "What was written, kept and replaced", body = GeneratedTemplates), (status = 422, description = "Another provider named, or an example with problems", body = ErrorBody)))]
pub(super) async fn generate_templates(
    State(s): State<AppState>,
    Json(body): Json<GenerateBody>,
) -> ApiResult {
    let broker = s.broker();
    let serving = broker.default_instance()?;
    let other = |what: &str, given: &str, serving: &str| {
        ApiError::invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            &["body", what],
            format!("'{given}' is not the instance this server serves templates of ('{serving}')"),
        )
    };
    if let Some(name) = body.provider.as_deref().filter(|n| *n != serving.name) {
        return Err(other("provider", name, &serving.name));
    }
    if let Some(kind) = body
        .provider_type
        .as_deref()
        .filter(|t| *t != serving.provider_type)
    {
        return Err(other("provider_type", kind, &serving.name));
    }
    let enabled = broker.config().provider.enabled().count();
    if body.all_providers && enabled > 1 {
        return Err(ApiError::invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            &["body", "all_providers"],
            format!(
                "this server writes the templates of '{}' only: ask each instance's",
                serving.name
            ),
        ));
    }
    let generated = broker
        .generate_templates(body.provider_api.as_deref(), body.force)
        .await?;
    Ok(Json(GeneratedTemplates::from(generated)).into_response())
}

/// What writing the example templates did, by template id.
#[derive(Serialize, ToSchema)]
pub(super) struct GeneratedTemplates {
    /// Added to the templates file.
    written: Vec<String>,
    /// Already there, kept.
    kept: Vec<String>,
    /// Already there, replaced (`force`).
    replaced: Vec<String>,
}

impl From<crate::broker::Generated> for GeneratedTemplates {
    fn from(g: crate::broker::Generated) -> Self {
        GeneratedTemplates {
            written: g.written,
            kept: g.kept,
            replaced: g.replaced,
        }
    }
}
