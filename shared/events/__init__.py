"""Events as data: each conference an item in the table, versioned, edited by organisers at run time."""
