plugin "storage" "badger" {}
