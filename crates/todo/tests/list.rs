//! `Todo.List` (the guide's chapter 2 tests, plus the `delete` exercise).

use arbor_todo::TodoList;

/// test/todo/list_test.exs "can store many items".
#[tokio::test]
async fn can_store_many_items() {
    let list = TodoList::start_link().await.unwrap();
    assert_eq!(list.get().await.unwrap(), Vec::<String>::new());
    list.put("eggs").await.unwrap();
    list.put("milk").await.unwrap();
    assert_eq!(list.get().await.unwrap(), ["milk", "eggs"]);
}

/// The exercise: `delete` removes the first (newest) match and returns the
/// previous list; deleting a missing item changes nothing.
#[tokio::test]
async fn delete() {
    let list = TodoList::start_link().await.unwrap();
    for item in ["eggs", "milk", "eggs"] {
        list.put(item).await.unwrap();
    }
    assert_eq!(list.delete("eggs").await.unwrap(), ["eggs", "milk", "eggs"]);
    assert_eq!(list.get().await.unwrap(), ["milk", "eggs"]);
    assert_eq!(list.delete("bread").await.unwrap(), ["milk", "eggs"]);
    assert_eq!(list.get().await.unwrap(), ["milk", "eggs"]);
}
