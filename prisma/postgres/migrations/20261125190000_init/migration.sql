-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "Submission" (
    "id" SERIAL NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "source" TEXT NOT NULL,
    "rawText" TEXT NOT NULL,
    "nickname" TEXT NOT NULL,
    "deviceToken" TEXT,
    "ip" TEXT,
    "prNumber" INTEGER,
    "outcome" TEXT NOT NULL,
    "reason" TEXT,
    "queueEntryId" INTEGER,

    CONSTRAINT "Submission_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "QueueEntry" (
    "id" SERIAL NOT NULL,
    "prNumber" INTEGER NOT NULL,
    "title" TEXT,
    "author" TEXT,
    "headSha" TEXT,
    "baseRef" TEXT,
    "state" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "QueueEntry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Build" (
    "id" SERIAL NOT NULL,
    "queueEntryId" INTEGER NOT NULL,
    "prNumber" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "checkoutMode" TEXT NOT NULL,
    "system" TEXT NOT NULL,
    "headSha" TEXT,
    "baseSha" TEXT,
    "checkedOutSha" TEXT,
    "targets" JSONB NOT NULL,
    "targetNote" TEXT,
    "error" TEXT,
    "failedDrv" TEXT,
    "failedPhase" TEXT,
    "logLineCount" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Build_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BuildDerivation" (
    "id" SERIAL NOT NULL,
    "buildId" INTEGER NOT NULL,
    "drvPath" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "phase" TEXT,
    "machine" TEXT NOT NULL DEFAULT '',
    "exitCode" INTEGER,
    "error" TEXT,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "BuildDerivation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Submission_prNumber_idx" ON "Submission"("prNumber");

-- CreateIndex
CREATE UNIQUE INDEX "QueueEntry_prNumber_key" ON "QueueEntry"("prNumber");

-- CreateIndex
CREATE INDEX "Build_prNumber_idx" ON "Build"("prNumber");

-- CreateIndex
CREATE INDEX "Build_status_idx" ON "Build"("status");

-- CreateIndex
CREATE UNIQUE INDEX "BuildDerivation_buildId_drvPath_key" ON "BuildDerivation"("buildId", "drvPath");

-- AddForeignKey
ALTER TABLE "Submission" ADD CONSTRAINT "Submission_queueEntryId_fkey" FOREIGN KEY ("queueEntryId") REFERENCES "QueueEntry"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Build" ADD CONSTRAINT "Build_queueEntryId_fkey" FOREIGN KEY ("queueEntryId") REFERENCES "QueueEntry"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BuildDerivation" ADD CONSTRAINT "BuildDerivation_buildId_fkey" FOREIGN KEY ("buildId") REFERENCES "Build"("id") ON DELETE CASCADE ON UPDATE CASCADE;

