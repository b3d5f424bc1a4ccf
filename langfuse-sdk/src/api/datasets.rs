//! Datasets, their items, runs and run items (linking a trace to an item in a run).

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::client::ApiClient;
use super::error::ApiError;
use super::http::{segment, Req};
use super::types::{nd, Page};

/// A dataset.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Dataset {
    /// Dataset id.
    #[serde(deserialize_with = "nd")]
    pub id: String,
    /// Name (unique in the project; may contain `/` folders).
    #[serde(deserialize_with = "nd")]
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Metadata.
    pub metadata: Value,
    /// JSON schema items' input must follow.
    pub input_schema: Value,
    /// JSON schema items' expected output must follow.
    pub expected_output_schema: Value,
    /// Creation (RFC 3339).
    pub created_at: Option<String>,
    /// Last update (RFC 3339).
    pub updated_at: Option<String>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A dataset to create ([`ApiClient::create_dataset`]); creating an existing name updates it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateDataset {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// JSON schema of item inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    /// JSON schema of item expected outputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_output_schema: Option<Value>,
}

impl CreateDataset {
    /// A dataset named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        CreateDataset {
            name: name.into(),
            ..Default::default()
        }
    }
}

/// `ACTIVE` or `ARCHIVED` (archived items are not listed and not run).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ItemStatus {
    /// Listed and run.
    #[default]
    Active,
    /// Kept, but not listed.
    Archived,
    /// A status this SDK does not know (never sent).
    #[serde(other)]
    Unknown,
}

/// A dataset item.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct DatasetItem {
    /// Item id.
    #[serde(deserialize_with = "nd")]
    pub id: String,
    /// Dataset id.
    #[serde(deserialize_with = "nd")]
    pub dataset_id: String,
    /// Dataset name.
    #[serde(deserialize_with = "nd")]
    pub dataset_name: String,
    /// Status.
    #[serde(deserialize_with = "nd")]
    pub status: ItemStatus,
    /// Input.
    pub input: Value,
    /// Expected output.
    pub expected_output: Value,
    /// Metadata.
    pub metadata: Value,
    /// The trace the item was made from.
    pub source_trace_id: Option<String>,
    /// The observation the item was made from.
    pub source_observation_id: Option<String>,
    /// Creation (RFC 3339).
    pub created_at: Option<String>,
    /// Last update (RFC 3339).
    pub updated_at: Option<String>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An item to create, or (same `id`) to replace ([`ApiClient::upsert_dataset_item`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateDatasetItem {
    /// Dataset name.
    pub dataset_name: String,
    /// Item id (the server makes one when absent; an existing id is updated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// Expected output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_output: Option<Value>,
    /// Metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    /// Source trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_trace_id: Option<String>,
    /// Source observation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_observation_id: Option<String>,
}

impl CreateDatasetItem {
    /// An item of `dataset` with `input`.
    pub fn new(dataset: impl Into<String>, input: Value) -> Self {
        CreateDatasetItem {
            dataset_name: dataset.into(),
            input: Some(input),
            ..Default::default()
        }
    }
    /// Sets the expected output.
    pub fn expected_output(mut self, v: Value) -> Self {
        self.expected_output = Some(v);
        self
    }
    /// Sets the id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
    /// Sets the metadata.
    pub fn metadata(mut self, v: Value) -> Self {
        self.metadata = Some(v);
        self
    }
}

impl From<&DatasetItem> for CreateDatasetItem {
    /// Everything of a fetched item, to change and send back (an update).
    fn from(i: &DatasetItem) -> Self {
        let opt = |v: &Value| (!v.is_null()).then(|| v.clone());
        CreateDatasetItem {
            dataset_name: i.dataset_name.clone(),
            id: Some(i.id.clone()),
            input: opt(&i.input),
            expected_output: opt(&i.expected_output),
            metadata: opt(&i.metadata),
            status: (i.status != ItemStatus::Unknown).then_some(i.status),
            source_trace_id: i.source_trace_id.clone(),
            source_observation_id: i.source_observation_id.clone(),
        }
    }
}

/// Filters and paging of [`ApiClient::list_dataset_items`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct DatasetItemQuery {
    /// Dataset name (required by the server in practice).
    pub dataset_name: Option<String>,
    /// Only items made from this trace.
    pub source_trace_id: Option<String>,
    /// Only items made from this observation.
    pub source_observation_id: Option<String>,
    /// Page, from 1.
    pub page: Option<u32>,
    /// Items per page (default 50).
    pub limit: Option<u32>,
}

impl DatasetItemQuery {
    /// Items of `dataset`, page `page` of `limit`.
    pub fn of(dataset: impl Into<String>, page: u32, limit: u32) -> Self {
        DatasetItemQuery {
            dataset_name: Some(dataset.into()),
            page: Some(page),
            limit: Some(limit),
            ..Default::default()
        }
    }
}

/// A link from a dataset item to the trace (and observation) that ran it in a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateDatasetRunItem {
    /// Run name (the run is created on first use).
    pub run_name: String,
    /// Run description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_description: Option<String>,
    /// Run metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// The item.
    pub dataset_item_id: String,
    /// The trace that ran it.
    pub trace_id: String,
    /// The observation that ran it (e.g. the task span).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observation_id: Option<String>,
}

/// A dataset run item.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct DatasetRunItem {
    /// Id.
    #[serde(deserialize_with = "nd")]
    pub id: String,
    /// Run id.
    #[serde(deserialize_with = "nd")]
    pub dataset_run_id: String,
    /// Run name.
    #[serde(deserialize_with = "nd")]
    pub dataset_run_name: String,
    /// Item id.
    #[serde(deserialize_with = "nd")]
    pub dataset_item_id: String,
    /// Trace id.
    #[serde(deserialize_with = "nd")]
    pub trace_id: String,
    /// Observation id.
    pub observation_id: Option<String>,
    /// Creation (RFC 3339).
    pub created_at: Option<String>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A dataset run (with its items from [`ApiClient::get_dataset_run`]; they appear there a few
/// seconds after they were created).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct DatasetRun {
    /// Run id.
    #[serde(deserialize_with = "nd")]
    pub id: String,
    /// Name.
    #[serde(deserialize_with = "nd")]
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Metadata.
    pub metadata: Value,
    /// Dataset id.
    #[serde(deserialize_with = "nd")]
    pub dataset_id: String,
    /// Dataset name.
    #[serde(deserialize_with = "nd")]
    pub dataset_name: String,
    /// Creation (RFC 3339).
    pub created_at: Option<String>,
    /// Run items (only in `get_dataset_run`).
    #[serde(deserialize_with = "nd")]
    pub dataset_run_items: Vec<DatasetRunItem>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn paged(req: Req, page: Option<u32>, limit: Option<u32>) -> Req {
    req.query_opt("page", page).query_opt("limit", limit)
}

impl ApiClient {
    /// Creates a dataset (an existing name is updated).
    pub async fn create_dataset(&self, d: &CreateDataset) -> Result<Dataset, ApiError> {
        let what = format!("create dataset '{}'", d.name);
        let req = Req::new(Method::POST, "/api/public/v2/datasets", what).json(d)?;
        self.json(req).await
    }

    /// One dataset by name.
    pub async fn get_dataset(&self, name: &str) -> Result<Dataset, ApiError> {
        let path = format!("/api/public/v2/datasets/{}", segment(name));
        self.json(Req::get(path, format!("dataset '{name}'"))).await
    }

    /// Lists datasets (page-based).
    pub async fn list_datasets(
        &self,
        page: Option<u32>,
        limit: Option<u32>,
    ) -> Result<Page<Dataset>, ApiError> {
        self.json(paged(
            Req::get("/api/public/v2/datasets", "list datasets"),
            page,
            limit,
        ))
        .await
    }

    /// Creates an item, or replaces the item with the same id (an update: send every field;
    /// `CreateDatasetItem::from(&item)` starts from a fetched one).
    pub async fn upsert_dataset_item(
        &self,
        item: &CreateDatasetItem,
    ) -> Result<DatasetItem, ApiError> {
        let what = format!("create item of dataset '{}'", item.dataset_name);
        let req = Req::new(Method::POST, "/api/public/dataset-items", what).json(item)?;
        self.json(req).await
    }

    /// One item by id (archived ones too).
    pub async fn get_dataset_item(&self, id: &str) -> Result<DatasetItem, ApiError> {
        let path = format!("/api/public/dataset-items/{}", segment(id));
        self.json(Req::get(path, format!("dataset item {id}")))
            .await
    }

    /// Lists items (page-based; archived items are left out by the server).
    pub async fn list_dataset_items(
        &self,
        q: DatasetItemQuery,
    ) -> Result<Page<DatasetItem>, ApiError> {
        let req = Req::get("/api/public/dataset-items", "list dataset items")
            .query_opt("datasetName", q.dataset_name)
            .query_opt("sourceTraceId", q.source_trace_id)
            .query_opt("sourceObservationId", q.source_observation_id);
        self.json(paged(req, q.page, q.limit)).await
    }

    /// Every active item of a dataset, page after page (100 per page, at most 1,000 pages).
    pub async fn all_dataset_items(&self, dataset: &str) -> Result<Vec<DatasetItem>, ApiError> {
        let mut items = Vec::new();
        for page in 1..=1000 {
            let p = self
                .list_dataset_items(DatasetItemQuery::of(dataset, page, 100))
                .await?;
            let more = p.has_next() && !p.data.is_empty();
            items.extend(p.data);
            if !more {
                break;
            }
        }
        Ok(items)
    }

    /// Deletes an item. Succeeds only on the API's confirmation: a 2xx that is not (a login
    /// page in front of Langfuse) is an error ([`ApiError::is_decode`]), nothing was deleted.
    pub async fn delete_dataset_item(&self, id: &str) -> Result<(), ApiError> {
        let path = format!("/api/public/dataset-items/{}", segment(id));
        let what = format!("delete dataset item {id}");
        self.send(Req::new(Method::DELETE, path, what.clone()))
            .await?
            .confirm(&what)
    }

    /// Links a trace (and observation) to an item in a run; creates the run on first use.
    pub async fn create_dataset_run_item(
        &self,
        link: &CreateDatasetRunItem,
    ) -> Result<DatasetRunItem, ApiError> {
        let what = format!(
            "link item {} to run '{}'",
            link.dataset_item_id, link.run_name
        );
        let req = Req::new(Method::POST, "/api/public/dataset-run-items", what).json(link)?;
        self.json(req).await
    }

    /// Lists the runs of a dataset (page-based).
    pub async fn list_dataset_runs(
        &self,
        dataset: &str,
        page: Option<u32>,
        limit: Option<u32>,
    ) -> Result<Page<DatasetRun>, ApiError> {
        let path = format!("/api/public/datasets/{}/runs", segment(dataset));
        self.json(paged(
            Req::get(path, format!("runs of dataset '{dataset}'")),
            page,
            limit,
        ))
        .await
    }

    /// One run with its items.
    pub async fn get_dataset_run(&self, dataset: &str, run: &str) -> Result<DatasetRun, ApiError> {
        let path = format!(
            "/api/public/datasets/{}/runs/{}",
            segment(dataset),
            segment(run)
        );
        self.json(Req::get(
            path,
            format!("run '{run}' of dataset '{dataset}'"),
        ))
        .await
    }

    /// Deletes a run. Succeeds only on the API's confirmation, as
    /// [`delete_dataset_item`](Self::delete_dataset_item).
    pub async fn delete_dataset_run(&self, dataset: &str, run: &str) -> Result<(), ApiError> {
        let path = format!(
            "/api/public/datasets/{}/runs/{}",
            segment(dataset),
            segment(run)
        );
        let what = format!("delete run '{run}'");
        self.send(Req::new(Method::DELETE, path, what.clone()))
            .await?
            .confirm(&what)
    }

    /// Lists the items of a run (page-based).
    pub async fn list_dataset_run_items(
        &self,
        dataset_id: &str,
        run: &str,
        page: Option<u32>,
        limit: Option<u32>,
    ) -> Result<Page<DatasetRunItem>, ApiError> {
        let req = Req::get(
            "/api/public/dataset-run-items",
            format!("items of run '{run}'"),
        )
        .query("datasetId", dataset_id)
        .query("runName", run);
        self.json(paged(req, page, limit)).await
    }
}
