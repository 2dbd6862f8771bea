# The spec's habits: `make up`, `make demo`, `make test`, `make drill-<name>`. Each target runs a
# script of this repository; the scripts say what they do in their first lines.
DRILLS := lag-climbing slow-db db-lock poison consumer-crash pg-outage broker-restart dlq-down

.PHONY: up down status demo audit test native native-test drill-all $(addprefix drill-,$(DRILLS)) compose-up compose-down

up:            ## local broker + PostgreSQL roles and database (no Docker needed)
	bin/infra up

down:          ## stop the local broker
	bin/infra down

status:
	bin/infra status

demo:          ## the whole pipeline on a fresh clone, in one command
	bin/demo

audit:         ## prove every offset the local consumer group committed accounted for (exit 0/1, report)
	QUARKUS_PROFILE=audit java -jar target/quarkus-app/quarkus-run.jar

test:          ## every test, preparing the machine first (the README's test command)
	./mvnw verify

native:        ## the native executable (GRAALVM_HOME, or ../shared/native-kit here)
	bin/native

native-test:   ## the native executable, then every integration test against it
	bin/native verify

$(addprefix drill-,$(DRILLS)): drill-%:
	bin/drill $*

drill-all:
	bin/drill all

compose-up:    ## the Docker stack (machines with a Docker engine)
	docker compose up -d --build

compose-down:
	docker compose --profile load down
