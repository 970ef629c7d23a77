plugin "backup" {}
