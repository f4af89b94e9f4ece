-- Rows of one kind across every account and region: the host agent reads
-- all instances it must run, DescribeImages reads public and shared images.
CREATE INDEX resources_by_kind_everywhere ON resources (kind, id);
