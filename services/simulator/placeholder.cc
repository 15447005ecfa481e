namespace casewatch {}
