/**
 * Celery interoperability, inbound: Conveyor's workers run Celery messages (consumer.ts) and
 * write results Python reads (results.ts). The composition root starts both when
 * CELERY_BROKER_URL is set. docs/celery.md is the guide; ADR 0006 the design.
 */
export { startCeleryConsumer, payloadOf, enqueueOptionsOf, conveyorIdOf, type CeleryConsumer, type CeleryConsumerOptions } from './consumer.ts';
export { celeryResults, toCeleryException, isCeleryOrigin, RESULT_TTL_S, type CeleryResults, type CeleryOrigin, type CeleryException } from './results.ts';
export { decodeMessage, parseEnvelope, priorityLists, resultKey, parseCeleryTime, type CeleryMessage, type Refusal } from './protocol.ts';
