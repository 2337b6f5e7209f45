//! A real S3-compatible server for the attachment tests: moto's server mode
//! (`python -m moto.server`), installed into the tools' virtual environment when
//! missing. A missing or broken moto fails the test; it never skips it.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use super::{binary::free_port, smtp::python_with};

pub struct S3Server {
    pub port: u16,
    child: Child,
}

impl S3Server {
    /// Starts the server and creates `bucket` in it.
    pub async fn start(bucket: &str) -> S3Server {
        let python = python_with("moto.server", "moto[server]");
        let port = free_port();
        let child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the S3 server starts");
        let server = S3Server { port, child };
        for _ in 0..600 {
            if let Ok(r) = reqwest::Client::new().put(server.url(&format!("/{bucket}"))).send().await {
                assert!(r.status().is_success(), "creating the bucket: {}", r.status());
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the S3 server did not listen on port {port}");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The keys of the objects in a bucket.
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let xml = reqwest::get(self.url(&format!("/{bucket}?list-type=2"))).await.unwrap().text().await.unwrap();
        xml.split("<Key>").skip(1).filter_map(|s| s.split("</Key>").next()).map(str::to_owned).collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
