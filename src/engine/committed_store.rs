//! The lake as DataFusion reads it: the local folder, seen through one manifest. Listing shows
//! only the files committed when the engine opened, so a query never reads half an ingest, a
//! file dropped into a partition by hand, or a leftover of a killed writer, and `query` and
//! `lake stats` count the same files. Read-only: writes go through the lake's writer.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::object_store::path::Path;
use datafusion::object_store::{
    CopyOptions, Error, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};
use futures::stream::BoxStream;
use futures::StreamExt;

/// A read-only view of `inner` that lists only `visible` paths (relative, `/`-separated).
#[derive(Debug)]
pub struct CommittedStore {
    inner: Arc<dyn ObjectStore>,
    visible: Arc<BTreeSet<String>>,
}

impl CommittedStore {
    pub fn new(inner: Arc<dyn ObjectStore>, visible: BTreeSet<String>) -> Self {
        Self {
            inner,
            visible: Arc::new(visible),
        }
    }

    /// Whether any visible file lies below `prefix` (a folder).
    fn has_below(&self, prefix: &Path) -> bool {
        let folder = format!("{}/", prefix.as_ref());
        self.visible
            .range(folder.clone()..)
            .next()
            .is_some_and(|f| f.starts_with(&folder))
    }

    fn read_only(operation: &str) -> Error {
        Error::NotImplemented {
            operation: operation.to_string(),
            implementer: "the lake as committed (read-only)".to_string(),
        }
    }
}

impl fmt::Display for CommittedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommittedStore({} files)", self.visible.len())
    }
}

#[async_trait]
impl ObjectStore for CommittedStore {
    async fn put_opts(&self, _: &Path, _: PutPayload, _: PutOptions) -> Result<PutResult> {
        Err(Self::read_only("put"))
    }

    async fn put_multipart_opts(
        &self,
        _: &Path,
        _: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        Err(Self::read_only("put_multipart"))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        locations.map(|_| Err(Self::read_only("delete"))).boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let visible = Arc::clone(&self.visible);
        self.inner
            .list(prefix)
            .filter(move |meta| {
                let keep = match meta {
                    Ok(meta) => visible.contains(meta.location.as_ref()),
                    Err(_) => true,
                };
                std::future::ready(keep)
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let listed = self.inner.list_with_delimiter(prefix).await?;
        Ok(ListResult {
            common_prefixes: listed
                .common_prefixes
                .into_iter()
                .filter(|p| self.has_below(p))
                .collect(),
            objects: listed
                .objects
                .into_iter()
                .filter(|meta| self.visible.contains(meta.location.as_ref()))
                .collect(),
        })
    }

    async fn copy_opts(&self, _: &Path, _: &Path, _: CopyOptions) -> Result<()> {
        Err(Self::read_only("copy"))
    }

    async fn rename_opts(&self, _: &Path, _: &Path, _: RenameOptions) -> Result<()> {
        Err(Self::read_only("rename"))
    }
}
