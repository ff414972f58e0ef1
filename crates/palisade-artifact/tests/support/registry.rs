//! Test support shared by the crates that pull images: Debian's `docker-registry` (the
//! CNCF distribution registry) on a free loopback port, storing into a temporary folder.
//! Include it with `#[path = ".../palisade-artifact/tests/support/registry.rs"] mod registry;`.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Debian's docker-registry (the distribution project's registry) on a free loopback port.
pub struct Registry {
    child: Child,
    pub addr: String,
}

impl Registry {
    pub fn start(dir: &Path) -> Registry {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let storage = dir.join("registry-data");
        std::fs::create_dir_all(&storage).unwrap();
        let config = dir.join("registry.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n",
                storage.display()
            ),
        )
        .unwrap();
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        for _ in 0..100 {
            if std::net::TcpStream::connect(&addr).is_ok() {
                return Registry { child, addr };
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("docker-registry did not listen on {addr}");
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
