//! The object store holding attachment bytes, behind `object_store`'s one interface:
//! a local directory by default, or an S3 bucket. Both go through the same code path;
//! only the construction differs.
//!
//! Objects are written under a fresh random key, streamed in parts (never the whole
//! file in memory), and only then described by a database row. A write that fails or
//! is abandoned leaves nothing behind: the local store writes to a staging file that
//! is removed when the upload is dropped, S3 aborts the multipart upload (and a
//! bucket lifecycle rule expires any that a crash left open).

use std::{path::PathBuf, sync::Arc};

use anyhow::Context;
use axum::body::Bytes;
use futures::{stream::BoxStream, StreamExt, TryStreamExt};
use object_store::{
    aws::AmazonS3Builder, local::LocalFileSystem, path::Path, prefix::PrefixStore, GetResultPayload, ObjectMeta,
    ObjectStore, ObjectStoreExt, WriteMultipart,
};
use rand::RngCore;
use tokio_util::io::ReaderStream;

use crate::config::Config;

/// Where in the bucket the files are.
pub const S3_PREFIX: &str = "attachments";
/// Part size on S3: its smallest allowed part (except the last).
const S3_PART_BYTES: usize = 5 * 1024 * 1024;
/// Part size on local disk: small, since a part is held in memory until written.
const LOCAL_PART_BYTES: usize = 1024 * 1024;
/// Read size when serving a file from local disk.
const LOCAL_READ_BYTES: usize = 256 * 1024;

#[derive(Clone)]
pub struct AttachmentStore {
    objects: Arc<dyn ObjectStore>,
    part_bytes: usize,
    /// The directory of the local store (for its staging-file sweep).
    local_dir: Option<PathBuf>,
}

impl std::fmt::Debug for AttachmentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AttachmentStore({})", self.objects)
    }
}

impl AttachmentStore {
    /// S3 when `attachments_s3_bucket` is set, else the local directory.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        match config.attachments_s3_bucket.as_deref().filter(|b| !b.trim().is_empty()) {
            Some(bucket) => Self::s3(bucket, config.attachments_s3_endpoint.as_deref()),
            None => Self::local(&config.attachments_dir),
        }
    }

    /// A directory on local disk, created when missing.
    pub fn local(dir: &std::path::Path) -> anyhow::Result<Self> {
        // A read-only filesystem (a container without a volume there) fails here, at
        // startup, rather than at the first upload.
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "creating the attachments directory {} (set attachments_dir to a writable volume, \
                 or attachments_s3_bucket)",
                dir.display()
            )
        })?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .with_context(|| format!("opening the attachments directory {}", dir.display()))?
            .with_automatic_cleanup(true);
        Ok(Self {
            objects: Arc::new(store),
            part_bytes: LOCAL_PART_BYTES,
            local_dir: Some(std::fs::canonicalize(dir)?),
        })
    }

    /// An S3 bucket. Credentials and region come from the standard AWS environment
    /// (`AWS_ACCESS_KEY_ID`…, `AWS_REGION`, or on EKS the IRSA web-identity token
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN`). `endpoint` names an
    /// S3-compatible server instead of AWS.
    pub fn s3(bucket: &str, endpoint: Option<&str>) -> anyhow::Result<Self> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = endpoint.filter(|e| !e.trim().is_empty()) {
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().with_context(|| format!("configuring the S3 bucket {bucket}"))?;
        // The bucket may hold other things (it is the deployment's assets bucket): the
        // files, and so the orphan sweep, stay under their own prefix.
        let store = PrefixStore::new(store, S3_PREFIX);
        Ok(Self { objects: Arc::new(store), part_bytes: S3_PART_BYTES, local_dir: None })
    }

    /// A fresh, unguessable key, spread over 256 prefixes.
    pub fn new_key() -> String {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        let name = hex::encode(bytes);
        format!("{}/{name}", &name[..2])
    }

    /// Starts writing an object.
    pub async fn create(&self, key: &str) -> object_store::Result<ObjectWriter> {
        let upload = self.objects.put_multipart(&Path::from(key)).await?;
        Ok(ObjectWriter { inner: WriteMultipart::new_with_chunk_size(upload, self.part_bytes) })
    }

    /// An object's size and its bytes as a stream.
    pub async fn open(&self, key: &str) -> object_store::Result<(u64, BoxStream<'static, std::io::Result<Bytes>>)> {
        let got = self.objects.get(&Path::from(key)).await?;
        let size = got.meta.size;
        let stream = match got.payload {
            // object_store reads a local file 8 KiB per blocking task; larger reads keep
            // a download from being bound by those hops (the whole object is read).
            GetResultPayload::File(file, _) => {
                ReaderStream::with_capacity(tokio::fs::File::from_std(file), LOCAL_READ_BYTES).boxed()
            }
            GetResultPayload::Stream(s) => s.map_err(std::io::Error::other).boxed(),
        };
        Ok((size, stream))
    }

    /// Deletes an object; one that is already gone is not an error.
    pub async fn delete(&self, key: &str) -> object_store::Result<()> {
        match self.objects.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes objects after their rows are gone; a failure is logged and left to the
    /// hourly sweep.
    pub async fn delete_all(&self, keys: &[String]) {
        for key in keys {
            if let Err(e) = self.delete(key).await {
                tracing::warn!(key, error = %e, "attachment file not deleted; the cleanup job will retry");
            }
        }
    }

    /// Every object, with its key and last modification.
    pub fn list(&self) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.objects.list(None)
    }

    pub fn local_dir(&self) -> Option<&std::path::Path> {
        self.local_dir.as_deref()
    }
}

/// An object being written: bytes go out in parts, at most one part in flight.
pub struct ObjectWriter {
    inner: WriteMultipart,
}

impl ObjectWriter {
    pub async fn write(&mut self, bytes: &[u8]) -> object_store::Result<()> {
        self.inner.wait_for_capacity(1).await?;
        self.inner.write(bytes);
        Ok(())
    }

    pub async fn finish(self) -> object_store::Result<()> {
        self.inner.finish().await.map(|_| ())
    }

    /// Gives the write up; nothing of it remains.
    pub async fn abort(self) -> object_store::Result<()> {
        self.inner.abort().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn written_objects_read_back_and_deleting_twice_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let store = AttachmentStore::local(&dir.path().join("files")).unwrap();
        let key = AttachmentStore::new_key();
        let mut w = store.create(&key).await.unwrap();
        let data: Vec<u8> = (0..3 * LOCAL_PART_BYTES + 7).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(10_000) {
            w.write(chunk).await.unwrap();
        }
        w.finish().await.unwrap();
        let (size, stream) = store.open(&key).await.unwrap();
        assert_eq!(size, data.len() as u64);
        let read: Vec<Bytes> = stream.try_collect().await.unwrap();
        assert_eq!(read.concat(), data);
        store.delete(&key).await.unwrap();
        store.delete(&key).await.unwrap();
        assert!(store.open(&key).await.is_err());
    }

    #[tokio::test]
    async fn an_aborted_write_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = AttachmentStore::local(dir.path()).unwrap();
        let mut w = store.create(&AttachmentStore::new_key()).await.unwrap();
        w.write(&[1u8; 4096]).await.unwrap();
        w.abort().await.unwrap();
        let files = walk(dir.path());
        assert!(files.is_empty(), "{files:?}");
    }

    fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }
}
