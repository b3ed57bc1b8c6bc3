package web

// MaxListScan is maxListScan, for the tests of package web_test.
const MaxListScan = maxListScan
