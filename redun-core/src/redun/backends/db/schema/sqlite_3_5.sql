-- redun schema 3.5 (alembic revision 0bee3d6dba76) on SQLite: the DDL the alembic
-- migration produces, in the same order and text. Checked against the migration by
-- tests/core/backend/test_schema.py; the version rows are inserted by redun.
-- Keep the text byte for byte (tabs, trailing spaces): SQLite stores it in sqlite_master.

CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE redun_version (
	id VARCHAR NOT NULL, 
	version INTEGER NOT NULL, 
	timestamp DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE task (
	hash VARCHAR(40) NOT NULL, 
	name VARCHAR NOT NULL, 
	namespace VARCHAR NOT NULL, 
	source VARCHAR NOT NULL, 
	PRIMARY KEY (hash)
);

CREATE TABLE value (
	value_hash VARCHAR(40) NOT NULL, 
	type VARCHAR(100) NOT NULL, 
	format VARCHAR(100) NOT NULL, 
	value BLOB NOT NULL, 
	PRIMARY KEY (value_hash)
);

CREATE TABLE call_node (
	call_hash VARCHAR(40) NOT NULL, 
	task_name VARCHAR(1024) NOT NULL, 
	task_hash VARCHAR(40) NOT NULL, 
	args_hash VARCHAR(40) NOT NULL, 
	value_hash VARCHAR(40) NOT NULL, 
	timestamp DATETIME NOT NULL, 
	PRIMARY KEY (call_hash), 
	FOREIGN KEY(task_hash) REFERENCES task (hash), 
	FOREIGN KEY(value_hash) REFERENCES value (value_hash)
);

CREATE INDEX ix_call_node_task_hash ON call_node (task_hash);

CREATE INDEX ix_call_node_value_hash ON call_node (value_hash);

CREATE TABLE file (
	value_hash VARCHAR(40) NOT NULL, 
	path VARCHAR(1024) NOT NULL, 
	PRIMARY KEY (value_hash), 
	FOREIGN KEY(value_hash) REFERENCES value (value_hash)
);

CREATE TABLE handle (
	hash VARCHAR(40) NOT NULL, 
	fullname VARCHAR(1024) NOT NULL, 
	value_hash VARCHAR(40) NOT NULL, 
	"key" VARCHAR(1024) NOT NULL, 
	is_valid BOOLEAN NOT NULL, 
	PRIMARY KEY (hash), 
	FOREIGN KEY(value_hash) REFERENCES value (value_hash)
);

CREATE INDEX ix_handle_fullname ON handle (fullname);

CREATE INDEX ix_handle_value_hash ON handle (value_hash);

CREATE TABLE subvalue (
	value_hash VARCHAR(40) NOT NULL, 
	parent_value_hash VARCHAR(40) NOT NULL, 
	PRIMARY KEY (value_hash, parent_value_hash), 
	FOREIGN KEY(value_hash) REFERENCES value (value_hash), 
	FOREIGN KEY(parent_value_hash) REFERENCES value (value_hash)
);

CREATE INDEX ix_subvalue_parent_value_hash ON subvalue (parent_value_hash);

CREATE INDEX ix_subvalue_value_hash ON subvalue (value_hash);

CREATE TABLE argument (
	arg_hash VARCHAR(40) NOT NULL, 
	call_hash VARCHAR(40) NOT NULL, 
	value_hash VARCHAR(40) NOT NULL, 
	arg_position INTEGER, 
	arg_key VARCHAR(100), 
	PRIMARY KEY (arg_hash), 
	FOREIGN KEY(call_hash) REFERENCES call_node (call_hash), 
	FOREIGN KEY(value_hash) REFERENCES value (value_hash)
);

CREATE INDEX ix_argument_call_hash ON argument (call_hash);

CREATE INDEX ix_argument_value_hash ON argument (value_hash);

CREATE TABLE call_edge (
	parent_id VARCHAR(40) NOT NULL, 
	child_id VARCHAR(40) NOT NULL, 
	call_order INTEGER NOT NULL, 
	PRIMARY KEY (parent_id, child_id, call_order), 
	FOREIGN KEY(parent_id) REFERENCES call_node (call_hash), 
	FOREIGN KEY(child_id) REFERENCES call_node (call_hash)
);

CREATE INDEX ix_call_edge_child_id ON call_edge (child_id);

CREATE INDEX ix_call_edge_parent_id ON call_edge (parent_id);

CREATE TABLE call_subtree_task (
	call_hash VARCHAR(40) NOT NULL, 
	task_hash VARCHAR(40) NOT NULL, 
	PRIMARY KEY (call_hash, task_hash), 
	FOREIGN KEY(call_hash) REFERENCES call_node (call_hash), 
	FOREIGN KEY(task_hash) REFERENCES task (hash)
);

CREATE INDEX ix_call_subtree_task_call_hash ON call_subtree_task (call_hash);

CREATE INDEX ix_call_subtree_task_task_hash ON call_subtree_task (task_hash);

CREATE TABLE handle_edge (
	parent_id VARCHAR(40) NOT NULL, 
	child_id VARCHAR(40) NOT NULL, 
	PRIMARY KEY (parent_id, child_id), 
	FOREIGN KEY(parent_id) REFERENCES handle (hash), 
	FOREIGN KEY(child_id) REFERENCES handle (hash)
);

CREATE INDEX ix_handle_edge_child_id ON handle_edge (child_id);

CREATE INDEX ix_handle_edge_parent_id ON handle_edge (parent_id);

CREATE TABLE argument_result (
	arg_hash VARCHAR(40) NOT NULL, 
	result_call_hash VARCHAR(40) NOT NULL, 
	PRIMARY KEY (arg_hash, result_call_hash), 
	FOREIGN KEY(arg_hash) REFERENCES argument (arg_hash), 
	FOREIGN KEY(result_call_hash) REFERENCES call_node (call_hash)
);

CREATE INDEX ix_argument_result_arg_hash ON argument_result (arg_hash);

CREATE INDEX ix_argument_result_result_call_hash ON argument_result (result_call_hash);

CREATE TABLE execution (
	id VARCHAR NOT NULL, 
	args VARCHAR NOT NULL, 
	job_id VARCHAR NOT NULL, 
	updated_time DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(job_id) REFERENCES job (id)
);

CREATE INDEX ix_execution_job_id ON execution (job_id);

CREATE TABLE evaluation (
	eval_hash VARCHAR(40) NOT NULL, 
	task_hash VARCHAR(40) NOT NULL, 
	args_hash VARCHAR(40) NOT NULL, 
	value_hash VARCHAR(40) NOT NULL, 
	PRIMARY KEY (eval_hash), 
	FOREIGN KEY(task_hash) REFERENCES task (hash), 
	FOREIGN KEY(value_hash) REFERENCES value (value_hash)
);

CREATE INDEX ix_evaluation_task_hash ON evaluation (task_hash);

CREATE INDEX ix_evaluation_value_hash ON evaluation (value_hash);

CREATE UNIQUE INDEX ix_call_node_call_hash_vpo ON call_node (call_hash);

CREATE UNIQUE INDEX ix_execution_id_vpo ON execution (id);

CREATE INDEX ix_file_path ON file (path);

CREATE UNIQUE INDEX ix_task_hash_vpo ON task (hash);

CREATE INDEX ix_task_name_vpo ON task (name);

CREATE INDEX ix_task_namespace_vpo ON task (namespace);

CREATE UNIQUE INDEX ix_value_value_hash_vpo ON value (value_hash);

CREATE TABLE job (
	id VARCHAR NOT NULL, 
	start_time DATETIME NOT NULL, 
	end_time DATETIME, 
	task_hash VARCHAR(40) NOT NULL, 
	cached BOOLEAN NOT NULL, 
	call_hash VARCHAR(40), 
	parent_id VARCHAR, 
	execution_id VARCHAR NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ct_job_execution_id FOREIGN KEY(execution_id) REFERENCES execution (id) DEFERRABLE INITIALLY DEFERRED, 
	FOREIGN KEY(task_hash) REFERENCES task (hash), 
	FOREIGN KEY(call_hash) REFERENCES call_node (call_hash), 
	FOREIGN KEY(parent_id) REFERENCES job (id)
);

CREATE INDEX ix_job_call_hash ON job (call_hash);

CREATE INDEX ix_job_parent_id ON job (parent_id);

CREATE INDEX ix_job_execution_id ON job (execution_id);

CREATE INDEX ix_job_task_hash ON job (task_hash);

CREATE UNIQUE INDEX ix_job_id_vpo ON job (id);

CREATE TABLE tag (
	tag_hash VARCHAR(40) NOT NULL, 
	entity_type VARCHAR(9) NOT NULL, 
	entity_id VARCHAR NOT NULL, 
	"key" VARCHAR NOT NULL, 
	value VARCHAR NOT NULL, 
	is_current BOOLEAN NOT NULL, 
	PRIMARY KEY (tag_hash)
);

CREATE INDEX ix_tag_entity_id ON tag (entity_id);

CREATE INDEX ix_tag_key ON tag ("key");

CREATE INDEX ix_tag_value ON tag (value);

CREATE UNIQUE INDEX ix_tag_tag_hash_current ON tag (tag_hash) WHERE is_current;

CREATE TABLE tag_edit (
	parent_id VARCHAR NOT NULL, 
	child_id VARCHAR NOT NULL, 
	PRIMARY KEY (parent_id, child_id), 
	FOREIGN KEY(parent_id) REFERENCES tag (tag_hash), 
	FOREIGN KEY(child_id) REFERENCES tag (tag_hash)
);

CREATE INDEX ix_job_end_time ON job (end_time);

CREATE INDEX ix_job_start_time ON job (start_time);

CREATE INDEX ix_value_type ON value (type);
