//! A todo-service node as an OS process (see
//! `arbor_nats::testkit::run_todo_node` for its arguments and output):
//! the tests kill it with `kill -9`.

#[tokio::main]
async fn main() {
    let code = arbor_nats::testkit::run_todo_node(std::env::args().skip(1)).await;
    std::process::exit(code);
}
