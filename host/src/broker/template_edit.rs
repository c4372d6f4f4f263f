//! Templates added, changed and removed through the broker: checked as the serving instance
//! would serve them (host rules, then its provider's), then written to the operator's templates
//! file (see [`crate::templates::replace`]).

use std::path::PathBuf;

use serde_json::{Map, Value};

use orb_plugin_api::operations::op;

use super::{Broker, BrokerError};
use crate::templates::{self, EditError, TemplateFiles, Written};

impl Broker {
    /// The templates files of the serving instance.
    fn template_files(&self) -> Result<TemplateFiles, BrokerError> {
        let instance = self.default_instance()?;
        Ok(templates::template_files(
            &self.config,
            &self.paths,
            &self.env,
            instance,
        ))
    }

    /// The template `id` as written in its file; an error when no file holds it.
    fn written_template(&self, files: &TemplateFiles, id: &str) -> Result<Written, BrokerError> {
        templates::find(&files.existing, id)
            .map_err(edit_error)?
            .ok_or_else(|| {
                BrokerError::NotFound(format!(
                    "template '{id}' is in no templates file in {}",
                    files.config_dir.display()
                ))
            })
    }

    /// Every problem the template `fields` would have once served; none when it is sound.
    async fn template_problems(&self, fields: &Map<String, Value>) -> Result<(), BrokerError> {
        let instance = self.default_instance()?;
        let template = templates::merged(&self.config, instance, fields)
            .map_err(|p| BrokerError::Invalid(vec![p]))?;
        let problems = self.validate_template(&template).await?;
        if problems.is_empty() {
            Ok(())
        } else {
            Err(BrokerError::Invalid(problems))
        }
    }

    /// Adds the template `fields` (its id in `templateId`; keys in either dialect, written in
    /// Host Factory's) to the templates file, unless a
    /// template of that id exists or it is not sound. The file written.
    pub async fn add_template(&self, fields: Map<String, Value>) -> Result<PathBuf, BrokerError> {
        let fields = templates::normalize(&fields);
        let id = fields
            .get("templateId")
            .and_then(Value::as_str)
            .ok_or_else(|| BrokerError::Invalid(vec!["templateId is required".into()]))?
            .to_owned();
        let files = self.template_files()?;
        if templates::find(&files.existing, &id)
            .map_err(edit_error)?
            .is_some()
        {
            return Err(BrokerError::Conflict(format!(
                "template '{id}' exists: change it with an update, or remove it first"
            )));
        }
        self.template_problems(&fields).await?;
        templates::replace(&files, &id, None, Some(fields)).map_err(edit_error)
    }

    /// Changes the template `id` by `changes` (a key set to null is removed), as written in its
    /// file (its keys then in Host Factory's dialect), unless the result is not sound. The file
    /// written.
    pub async fn update_template(
        &self,
        id: &str,
        changes: Map<String, Value>,
    ) -> Result<PathBuf, BrokerError> {
        let changes = templates::normalize(&changes);
        if changes
            .get("templateId")
            .is_some_and(|given| given.as_str() != Some(id))
        {
            return Err(BrokerError::Invalid(vec![format!(
                "templateId cannot change: add a template under the new id and remove '{id}'"
            )]));
        }
        let files = self.template_files()?;
        let written = self.written_template(&files, id)?;
        let mut fields = templates::normalize(&written.fields);
        for (key, value) in changes {
            if value.is_null() {
                fields.remove(&key);
            } else {
                fields.insert(key, value);
            }
        }
        self.template_problems(&fields).await?;
        templates::replace(&files, id, Some(&written), Some(fields)).map_err(edit_error)
    }

    /// Removes the template `id` from its file. The file written.
    pub async fn remove_template(&self, id: &str) -> Result<PathBuf, BrokerError> {
        let files = self.template_files()?;
        let written = self.written_template(&files, id)?;
        templates::replace(&files, id, Some(&written), None).map_err(edit_error)
    }
}

/// What writing the provider's example templates did, by template id.
#[derive(Debug, Default)]
pub struct Generated {
    /// Added to the templates file.
    pub written: Vec<String>,
    /// Already there, kept (without `force`).
    pub kept: Vec<String>,
    /// Already there, replaced (with `force`).
    pub replaced: Vec<String>,
}

impl Broker {
    /// Writes the serving instance's example templates (of the handler `provider_api` only,
    /// when given) to the templates file, each checked first; one whose id is there already is
    /// kept, unless `force` replaces it.
    pub async fn generate_templates(
        &self,
        provider_api: Option<&str>,
        force: bool,
    ) -> Result<Generated, BrokerError> {
        let instance = self.default_instance()?;
        let examples = self
            .provider(instance)
            .await?
            .call::<op::ExampleTemplates>(&())
            .await?;
        let of_api = |example: &orb_plugin_api::Template, api: &str| {
            example
                .provider_api
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(api))
        };
        if let Some(api) = provider_api {
            if !examples.iter().any(|e| of_api(e, api)) {
                let mut offered: Vec<&str> = examples
                    .iter()
                    .filter_map(|e| e.provider_api.as_deref())
                    .collect();
                offered.dedup();
                return Err(BrokerError::BadInput(format!(
                    "provider API '{api}' has no example templates on instance '{}'; {}",
                    instance.name,
                    match offered.is_empty() {
                        true => "its examples name no API: leave --provider-api out".to_owned(),
                        false => format!("its APIs: {}", offered.join(", ")),
                    }
                )));
            }
        }
        let mut generated = Generated::default();
        for example in examples {
            if provider_api.is_some_and(|api| !of_api(&example, api)) {
                continue;
            }
            // Read again for each: the first example may have created the file.
            let files = self.template_files()?;
            let id = example.template_id.clone();
            let fields = match serde_json::to_value(&example) {
                Ok(Value::Object(fields)) => templates::normalize(&fields),
                _ => continue,
            };
            let written = templates::find(&files.existing, &id).map_err(edit_error)?;
            match (&written, force) {
                (Some(_), false) => {
                    generated.kept.push(id);
                    continue;
                }
                (Some(_), true) => generated.replaced.push(id.clone()),
                (None, _) => generated.written.push(id.clone()),
            }
            self.template_problems(&fields).await?;
            templates::replace(&files, &id, written.as_ref(), Some(fields)).map_err(edit_error)?;
        }
        Ok(generated)
    }
}

/// An edit that was not made, as the broker tells it.
fn edit_error(e: EditError) -> BrokerError {
    match e {
        EditError::Changed(..) => BrokerError::Conflict(e.to_string()),
        EditError::File(message) => BrokerError::Config(message),
    }
}
