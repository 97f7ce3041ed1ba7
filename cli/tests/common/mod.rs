//! Helpers shared by the command-line tests: run `actormq` as a user runs it.
#![allow(dead_code, clippy::unwrap_used)] // test helpers: a failed step is a failed test

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn actormq() -> Command {
    Command::new(env!("CARGO_BIN_EXE_actormq"))
}

/// Spawns with stdout piped and stderr read in the background; returns the endpoints it bound.
pub struct Running {
    pub child: Child,
    pub bound: mpsc::Receiver<String>,
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

pub fn spawn(args: &[&str]) -> Running {
    let mut command = actormq();
    command.args(args);
    spawn_command(command)
}

/// Like [`spawn`], for a command prepared by the caller (environment, ...).
pub fn spawn_command(mut command: Command) -> Running {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, bound) = mpsc::channel();
    let all = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let keep = all.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(ep) = line.strip_prefix("bound ") {
                let _ = tx.send(ep.to_string());
            }
            keep.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    Running {
        child,
        bound,
        stderr: all,
    }
}

impl Running {
    pub fn bound(&self) -> String {
        self.bound
            .recv_timeout(Duration::from_secs(10))
            .expect("no `bound` line on stderr")
    }

    /// Waits (at most 20 s) for the exit; returns status code, stdout, stderr.
    pub fn finish(mut self) -> (i32, String, String) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "actormq did not exit; stderr: {}",
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let err = self.stderr.lock().unwrap().clone();
        (status.code().unwrap_or(-1), out, err)
    }
}

/// Runs to completion with `input` on stdin.
pub fn run_with(args: &[&str], input: &str) -> Output {
    let mut child = actormq()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "actormq {args:?} did not exit; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A tcp port on loopback that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
