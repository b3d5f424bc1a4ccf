//! Dataset CRUD, paging and run-item links against an in-process server answering with the
//! recorded Langfuse responses; what was sent is decoded and checked.

mod api_support;

use langfuse_sdk::api::{
    CreateDataset, CreateDatasetItem, CreateDatasetRunItem, DatasetItemQuery, ItemStatus,
};
use serde_json::json;

use api_support::{body, recorded, Server};

fn datasets_server() -> Server {
    Server::start(|r| {
        let f = match (r.method.as_str(), r.path.as_str()) {
            ("POST", "/api/public/v2/datasets") if r.json()["name"] == "" => {
                "datasets-04-create-missing-name.json"
            }
            ("POST", "/api/public/v2/datasets") => "datasets-01-create.json",
            ("GET", "/api/public/v2/datasets/ref-dataset") => "datasets-05-get.json",
            ("GET", "/api/public/v2/datasets") => "datasets-07-list-page1-limit2.json",
            ("GET", p) if p.starts_with("/api/public/v2/datasets/") => {
                "datasets-06-get-missing.json"
            }
            ("POST", "/api/public/dataset-items") if r.json()["datasetName"] != "ref-dataset" => {
                "datasets-16-item-missing-dataset.json"
            }
            ("POST", "/api/public/dataset-items") if r.json()["status"] == "ARCHIVED" => {
                "datasets-15-item-archived.json"
            }
            ("POST", "/api/public/dataset-items") if r.json()["sourceTraceId"].is_string() => {
                "datasets-12-item-create-from-trace.json"
            }
            ("POST", "/api/public/dataset-items") => "datasets-10-item-create-1.json",
            ("GET", "/api/public/dataset-items/ref-item-3") => "datasets-18-item-get.json",
            ("GET", p) if p.starts_with("/api/public/dataset-items/") => {
                "datasets-19-item-get-missing.json"
            }
            ("GET", "/api/public/dataset-items") if r.query.contains("page=2") => {
                "datasets-21-items-list-page2-limit2.json"
            }
            ("GET", "/api/public/dataset-items") => "datasets-20-items-list-page1-limit2.json",
            ("DELETE", p) if p.starts_with("/api/public/dataset-items/") => {
                "datasets-25-item-delete.json"
            }
            ("POST", "/api/public/dataset-run-items") => "datasets-30-run-item-create.json",
            ("GET", "/api/public/datasets/ref-dataset/runs") => "datasets-36-runs-list.json",
            ("GET", "/api/public/datasets/ref-dataset/runs/ref-run-1") => {
                "datasets-38b-run-get-after-wait.json"
            }
            ("DELETE", p) if p.starts_with("/api/public/datasets/") => {
                "datasets-42-run-delete.json"
            }
            ("GET", "/api/public/dataset-run-items") => "datasets-40-run-items-list.json",
            _ => "prompts-31-get-nested-raw-slash.json",
        };
        recorded(f)
    })
}

#[tokio::test]
async fn creates_gets_and_lists_datasets() {
    let server = datasets_server();
    let api = server.client();
    let mut d = CreateDataset::new("ref-dataset");
    d.description = Some("Reference dataset for the Rust SDK".into());
    d.metadata = Some(json!({"owner": "rust-sdk", "purpose": "reference"}));
    let created = api.create_dataset(&d).await.unwrap();
    assert_eq!(created.name, "ref-dataset");
    assert_eq!(
        server.requests()[0].json(),
        json!({"name": "ref-dataset", "description": "Reference dataset for the Rust SDK",
               "metadata": {"owner": "rust-sdk", "purpose": "reference"}})
    );
    let got = api.get_dataset("ref-dataset").await.unwrap();
    assert_eq!(got.id, body("datasets-05-get.json")["id"]);
    let e = api.get_dataset("ref-no-such").await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    let page = api.list_datasets(Some(1), Some(2)).await.unwrap();
    assert_eq!(page.data.len(), 2);
    assert_eq!(page.meta.limit, 2);
    let e = api
        .create_dataset(&CreateDataset::new(""))
        .await
        .unwrap_err();
    assert!(
        e.is_bad_request() && e.to_string().contains("Invalid input"),
        "{e}"
    );
}

#[tokio::test]
async fn creates_updates_gets_lists_and_deletes_items() {
    let server = datasets_server();
    let api = server.client();
    let item = api
        .upsert_dataset_item(
            &CreateDatasetItem::new(
                "ref-dataset",
                json!({"question": "What is the capital of France?"}),
            )
            .id("ref-item-1")
            .expected_output(json!("Paris"))
            .metadata(json!({"difficulty": "easy", "n": 1})),
        )
        .await
        .unwrap();
    assert_eq!(
        (item.id.as_str(), item.status),
        ("ref-item-1", ItemStatus::Active)
    );
    assert_eq!(
        server.requests()[0].json(),
        json!({"datasetName": "ref-dataset", "id": "ref-item-1",
               "input": {"question": "What is the capital of France?"},
               "expectedOutput": "Paris", "metadata": {"difficulty": "easy", "n": 1}})
    );

    // Update: start from the fetched item, archive it, send it back.
    let fetched = api.get_dataset_item("ref-item-3").await.unwrap();
    assert_eq!(
        fetched.source_trace_id.as_deref(),
        Some("e873007263c16d1b3ea88b4ebdc30c8e")
    );
    let mut update = CreateDatasetItem::from(&fetched);
    update.status = Some(ItemStatus::Archived);
    let archived = api.upsert_dataset_item(&update).await.unwrap();
    assert_eq!(archived.status, ItemStatus::Archived);
    let sent = server.requests()[2].json();
    assert_eq!(sent["id"], "ref-item-3");
    assert_eq!(sent["status"], "ARCHIVED");
    assert_eq!(sent["sourceObservationId"], "5a0afb6e21a7bb22");
    assert_eq!(sent["expectedOutput"], "Paris.");

    let e = api
        .upsert_dataset_item(&CreateDatasetItem::new(
            "ref-no-such-dataset",
            json!({"q": 1}),
        ))
        .await
        .unwrap_err();
    assert!(
        e.is_not_found() && e.to_string().contains("ref-no-such-dataset"),
        "{e}"
    );
    assert!(api
        .get_dataset_item("gone")
        .await
        .unwrap_err()
        .is_not_found());

    let p1 = api
        .list_dataset_items(DatasetItemQuery::of("ref-dataset", 1, 2))
        .await
        .unwrap();
    let p2 = api
        .list_dataset_items(DatasetItemQuery::of("ref-dataset", 2, 2))
        .await
        .unwrap();
    assert_eq!((p1.data.len(), p1.meta.page, p2.meta.page), (2, 1, 2));
    assert_ne!(p1.data[0].id, p2.data[0].id);
    let all = api.all_dataset_items("ref-dataset").await.unwrap();
    assert!(!all.is_empty());

    api.delete_dataset_item("ref-item-to-delete").await.unwrap();
    let reqs = server.requests();
    assert_eq!(reqs[5].query, "datasetName=ref-dataset&page=1&limit=2");
    let last = reqs.last().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("DELETE", "/api/public/dataset-items/ref-item-to-delete")
    );
}

#[tokio::test]
async fn links_traces_to_items_in_runs() {
    let server = datasets_server();
    let api = server.client();
    let mut link = CreateDatasetRunItem::default();
    link.run_name = "ref-run-1".into();
    link.run_description = Some("manual run for the reference".into());
    link.metadata = Some(json!({"model": "gpt-4o-mini"}));
    link.dataset_item_id = "ref-item-1".into();
    link.trace_id = "e873007263c16d1b3ea88b4ebdc30c8e".into();
    let ri = api.create_dataset_run_item(&link).await.unwrap();
    assert_eq!(ri.dataset_run_name, "ref-run-1");
    assert_eq!(ri.observation_id, None);
    assert_eq!(
        server.requests()[0].json(),
        json!({"runName": "ref-run-1", "runDescription": "manual run for the reference",
               "metadata": {"model": "gpt-4o-mini"}, "datasetItemId": "ref-item-1",
               "traceId": "e873007263c16d1b3ea88b4ebdc30c8e"})
    );

    let runs = api
        .list_dataset_runs("ref-dataset", None, None)
        .await
        .unwrap();
    assert!(!runs.data.is_empty());
    let run = api
        .get_dataset_run("ref-dataset", "ref-run-1")
        .await
        .unwrap();
    assert_eq!(
        run.dataset_run_items.len(),
        body("datasets-38b-run-get-after-wait.json")["datasetRunItems"]
            .as_array()
            .unwrap()
            .len()
    );
    let items = api
        .list_dataset_run_items(&run.dataset_id, "ref-run-1", None, None)
        .await
        .unwrap();
    assert_eq!(
        items.data[0].observation_id.as_deref(),
        Some("5a0afb6e21a7bb22")
    );
    api.delete_dataset_run("ref-dataset", "ref-run-to-delete")
        .await
        .unwrap();
    let reqs = server.requests();
    assert_eq!(
        reqs[3].query,
        format!("datasetId={}&runName=ref-run-1", run.dataset_id)
    );
    assert_eq!(
        reqs[4].path,
        "/api/public/datasets/ref-dataset/runs/ref-run-to-delete"
    );
}
