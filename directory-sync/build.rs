//! `sqlx::migrate!` embeds the migration files at compile time: rebuild when they change,
//! or a binary would refuse a database that newer migrations already touched.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
